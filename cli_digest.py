"""``techagenda digest``: preview and send the weekly digest (``newsletter.send``)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from aggregator import errors
from aggregator.models import utcnow
from aggregator.weeks import InvalidWeekError, Week
from cli_support import current

digest_app = typer.Typer(help="The weekly digest.", no_args_is_help=True)


def week_option(value: str) -> Week:
    """A ``--week`` option read as an ISO week (a bad one is a usage error: exit code 3)."""
    try:
        return Week.parse(value)
    except InvalidWeekError as exc:
        raise errors.ConfigError(str(exc)) from exc


def _week(week: str | None) -> str:
    """The week named on the command line, else the one the next digest covers."""
    chosen = week_option(week) if week else Week.upcoming(utcnow(), current().settings.tz)
    return str(chosen)


@digest_app.command("preview")
def digest_preview(
    email: Annotated[str | None, typer.Option(help="Render for this subscriber")] = None,
    week: Annotated[str | None, typer.Option(help="ISO week, e.g. 2026-W49")] = None,
    out: Annotated[Path | None, typer.Option(help="Output folder")] = None,
) -> None:
    """Write the digest's HTML and text to files and print their paths."""
    from newsletter.send import preview_digest

    out_dir = out or current().settings.data_dir / "preview"
    with current().session() as session:
        html, text = preview_digest(
            session, current().settings, email=email, week=_week(week), now=utcnow(), out_dir=out_dir
        )
    typer.echo(f"HTML: {html}")
    typer.echo(f"Text: {text}")


@digest_app.command("send")
def digest_send(
    week: Annotated[str | None, typer.Option(help="ISO week, e.g. 2026-W49")] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Select and render, send nothing")
    ] = False,
    worker: Annotated[bool, typer.Option(help="Claim deliveries alongside other workers")] = False,
) -> None:
    """Send the weekly digest; resumable, each subscriber gets it once."""
    from newsletter.send import send_digest

    label = _week(week)
    report = send_digest(
        current().engine,
        current().settings,
        week=label,
        now=utcnow(),
        dry_run=dry_run,
        progress=_progress() if sys.stderr.isatty() else None,
        worker=worker,
    )
    if report.busy:
        raise errors.TechagendaError(
            f"digest {label} is already being sent by {report.busy}: nothing sent twice "
            "(run it again once that send is over, or add --worker to help it)"
        )
    if report.held:
        raise errors.TechagendaError(
            f"digest {label} held by the send gate: {report.held} "
            "(approve it at /admin/digest/gate)"
        )
    typer.echo(
        f"Digest {label}: {report.sent} sent, {report.failed} failed, "
        f"{report.skipped} skipped, {report.pending} pending"
        + (f" ({report.processes} sending processes)" if report.processes > 1 else "")
    )
    if report.pending and not dry_run:
        raise errors.MailError(
            f"digest {label}: {report.pending} deliveries still pending, the mail server did "
            f"not take them ({report.last_error or 'temporary failure'}); they stay queued, "
            "run `techagenda digest send` again once it answers"
        )


def _progress() -> Callable[[int, int], None]:
    def show(done: int, total: int) -> None:
        width = 30
        filled = int(width * done / total) if total else width
        sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
        if done >= total:
            sys.stderr.write("\n")
        sys.stderr.flush()

    return show
