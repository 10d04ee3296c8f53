"""Sources beyond RSS/Atom feeds: public Telegram channels, pages without a feed, GDELT queries.

Each kind reads its target and hands the pipeline what a feed fetch and parse would: a
FetchResult (status, errors, Retry-After, body hash) and parsed, keyed items.
"""
