"""Feeds: fetching over HTTP, parsing RSS/Atom/JSON Feed, feed lists, and the other source kinds."""
