"""Model access: providers, the instructor caller, transport retries, rate limits, cache."""
