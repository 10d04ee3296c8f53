"""SQLite storage adapter for newswatch (sqlite-utils, WAL, migrations)."""
