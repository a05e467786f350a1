"""Dev helper, only until the first release lands: rebuild 0001 from the models.

    python -m aggregator.migrations.regen
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from alembic import command

from aggregator.db import alembic_config, make_engine

VERSIONS = Path(__file__).parent / "versions"


def main() -> None:
    for old in VERSIONS.glob("0001_*.py"):
        old.unlink()
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{tmp}/empty.db")
        command.revision(
            alembic_config(engine), message="initial schema", autogenerate=True, rev_id="0001"
        )


if __name__ == "__main__":
    main()
