"""Alembic environment: runs against the engine handed in by aggregator.db.upgrade."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

import aggregator.models  # noqa: F401  (registers the tables)
from aggregator.db import include_object, make_engine

config = context.config
engine = config.attributes.get("engine")
if engine is None:  # the plain `alembic` command line: read the URL from settings
    from aggregator.settings import load_settings

    engine = make_engine(load_settings().db_url)


with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=SQLModel.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_object=include_object,
    )
    with context.begin_transaction():
        context.run_migrations()
