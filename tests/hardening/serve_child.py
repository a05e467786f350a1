"""The web app under a real uvicorn on 127.0.0.1, for the load test.

python -m tests.hardening.serve_child DB_URL DATA_DIR PORT
"""

from __future__ import annotations

import sys
from pathlib import Path

import uvicorn

from tests.hardening.helpers import hardening_settings
from web.app import create_app


def main(db_url: str, data_dir: str, port: str) -> int:
    settings = hardening_settings(Path(data_dir), db_url)
    uvicorn.run(create_app(settings), host="127.0.0.1", port=int(port), log_level="warning")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
