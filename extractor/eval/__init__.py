"""Evals: scoring against gold, typed reports, renderers and the `extractor eval` CLI."""
