"""Console adapter: alerts printed to stdout when no Telegram token is configured."""
