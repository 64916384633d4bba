"""`extractor serve`: the extraction service over HTTP, with jobs that live in a database.

Modules: `db` (tables, engine, migrations), `store` (every query), `worker` (claims queued
articles and runs them through `extractor.runner.result_for`), `app` (FastAPI routes),
`problems` (RFC 9457 errors), `limits` (body size, per-key rate), `observe` (metrics, logs),
`webhooks`, `review` (the HTML page) and `cli` (`serve`, `keys`, `db`).
"""
