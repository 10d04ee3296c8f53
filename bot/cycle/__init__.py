"""The polling cycle: the pipeline, story grouping, watchlist reloading, background delivery."""
