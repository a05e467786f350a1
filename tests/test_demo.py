"""The quick start's first command, end to end: `techagenda demo` on a fresh data dir."""

from __future__ import annotations

import email
import email.policy
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def techagenda(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "MAIL_"))}
    env.update({"DATA_DIR": str(cwd / "var"), "FETCH_ALLOWLIST": ""})
    return subprocess.run(
        [sys.executable, "-m", "cli", *args],
        cwd=cwd,
        env={**env, "PYTHONPATH": str(Path(__file__).parent.parent)},
        capture_output=True,
        text=True,
        timeout=240,
    )


def figure(pattern: str, text: str) -> int:
    match = re.search(pattern, text)
    assert match, f"{pattern!r} not in output:\n{text}"
    return int(match.group(1))


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    cwd = tmp_path_factory.mktemp("demo")
    result = techagenda("demo", "--port", "0", cwd=cwd)
    assert result.returncode == 0, result.stdout + result.stderr
    return cwd, result.stdout


def test_demo_crawls_merges_and_writes_digests(demo_dir: tuple[Path, str]) -> None:
    _cwd, out = demo_dir
    assert figure(r"(\d+) sources crawled", out) == 8
    assert figure(r"sources crawled, (\d+) failed", out) == 0
    assert figure(r"Events: (\d+) found", out) >= 20
    assert figure(r"(\d+) merged", out) >= 1
    assert figure(r"Digest \d{4}-W\d\d: (\d+) sent", out) >= 2


def test_demo_outbox_holds_multipart_alternative_messages(demo_dir: tuple[Path, str]) -> None:
    cwd, out = demo_dir
    messages = sorted((cwd / "var" / "outbox").glob("*.eml"))
    assert len(messages) == figure(r"Digest \d{4}-W\d\d: (\d+) sent", out)
    for path in messages:
        msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert msg.get_content_type() == "multipart/alternative"
        kinds = [part.get_content_type() for part in msg.iter_parts()]
        assert kinds == ["text/plain", "text/html"]
        assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    preview = Path(re.search(r"HTML preview: (\S+)", out).group(1))  # type: ignore[union-attr]
    assert preview.is_file() and "<html" in preview.read_text(encoding="utf-8").lower()


def test_demo_next_digest_marks_changes_and_groups_a_series(demo_dir: tuple[Path, str]) -> None:
    _cwd, out = demo_dir
    assert re.search(r"sources changed \(crawl \d+\): 1 new, 1 updated, 1 cancelled", out), out
    path = Path(re.search(r"markers: (\S+)", out).group(1))  # type: ignore[union-attr]
    html = path.read_text(encoding="utf-8")
    assert "Déplacé" in html and "<s>14:00</s>" in html  # the nocturne moved from 14:00
    assert "Annulé" in html and "Hackathon Makers" in html
    assert "Nouveau" in html and "Soirée robotique" in html
    assert "Tous les" in html and "Atelier Arduino" in html


def test_demo_agenda_merges_duplicates_and_filters_out_of_region_and_non_tech(
    demo_dir: tuple[Path, str],
) -> None:
    cwd, _out = demo_dir
    listed = techagenda("events", "list", "--json", cwd=cwd)
    assert listed.returncode == 0, listed.stderr
    events = json.loads(listed.stdout)
    titles = [e["title"] for e in events]
    kube = [e for e in events if "Kubernetes en production" in e["title"]]
    assert len(kube) == 1 and len(kube[0]["sources"]) == 2
    assert not any("Lyon" in t or "Nice" in t for t in titles)
    assert not any("jazz" in t.lower() or "contes" in t.lower() for t in titles)
    assert any("Python" in t for t in titles)  # the tech event of the general agenda stays
    everything = json.loads(techagenda("events", "list", "--json", "--all", cwd=cwd).stdout)
    reasons = {e["title"]: e["excluded"] for e in everything}
    assert any(r for t, r in reasons.items() if "Lyon" in t)


def test_a_second_demo_run_changes_nothing(demo_dir: tuple[Path, str]) -> None:
    cwd, _out = demo_dir
    before = json.loads(techagenda("events", "list", "--json", "--all", cwd=cwd).stdout)
    outbox = sorted(p.name for p in (cwd / "var" / "outbox").glob("*.eml"))
    again = techagenda("demo", "--port", "0", cwd=cwd)
    assert again.returncode == 0, again.stdout + again.stderr
    assert figure(r"Events: \d+ found, (\d+) new", again.stdout) == 0
    after = json.loads(techagenda("events", "list", "--json", "--all", cwd=cwd).stdout)
    assert sorted(e["id"] for e in after) == sorted(e["id"] for e in before)
    assert sorted(p.name for p in (cwd / "var" / "outbox").glob("*.eml")) == outbox
