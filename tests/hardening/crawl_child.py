"""A crawl started the way the CLI starts one, in a process the fault tests can SIGKILL.

python -m tests.hardening.crawl_child DB_URL DATA_DIR
"""

from __future__ import annotations

import sys
from pathlib import Path

from crawlers.run import run_crawl
from tests.hardening.helpers import hardening_settings


def main(db_url: str, data_dir: str) -> int:
    settings = hardening_settings(Path(data_dir), db_url, crawl_timeout=60)
    run = run_crawl(settings, requested_by="fault-test", timeout=60)
    return 0 if run.status == "done" else 4


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
