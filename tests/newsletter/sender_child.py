"""A digest sender run in a child process so the crash test can SIGKILL it.

python -m tests.newsletter.sender_child DB_URL SMTP_URL DATA_DIR
"""

from __future__ import annotations

import sys
from pathlib import Path

from aggregator.db import make_engine
from aggregator.settings import load_settings
from newsletter.send import send_digest
from tests.newsletter.conftest import NOW, WEEK


def main(db_url: str, smtp_url: str, data_dir: str) -> int:
    settings = load_settings(
        data_dir=Path(data_dir),
        database_url=db_url,
        mail_url=smtp_url,
        secret_key="crash-test",
        mail_rate_per_second=60.0,
    )
    report = send_digest(make_engine(db_url), settings, week=WEEK, now=NOW)
    return 0 if report.pending == 0 else 3


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
