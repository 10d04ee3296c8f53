"""newswatch: a news-monitoring alert bot (feeds -> watchlist match -> dedup -> SQLite -> Telegram)."""

__version__ = "0.1.0"
