"""Fakes of the outside world for tests: a feed server and the Telegram Bot API, on loopback."""
