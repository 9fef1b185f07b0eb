"""Executors: what runs a job on a node (`base` holds the contract; `process` and `docker`
implement it). Kept empty on purpose: the per-job shepherd imports modules from this package
at every job start, so nothing heavy may load here."""
