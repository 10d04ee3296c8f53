"""Pure core of newswatch: models, text handling, matching, dedup and policy, with no I/O."""
