"""Alembic environment: migrations run on the connection `db.upgrade` passes in."""

from alembic import context

from extractor.service.db import Base

context.configure(
    connection=context.config.attributes["connection"],
    target_metadata=Base.metadata,
    render_as_batch=True,
)
with context.begin_transaction():
    context.run_migrations()
