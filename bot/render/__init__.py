"""Renderers for replies: charts and maps as PNG (matplotlib Agg), run in a worker process."""
