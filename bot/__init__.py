"""newswatch: a news-monitoring alert bot (feeds, watchlist matching, dedup, SQLite, Telegram)."""

__version__ = "0.1.0"
