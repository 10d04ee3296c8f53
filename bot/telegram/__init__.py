"""Telegram adapter: alert delivery and bot commands through python-telegram-bot."""
