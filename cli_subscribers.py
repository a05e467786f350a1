"""``techagenda subscribers``: add, list and import digest subscribers."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from sqlmodel import select

from aggregator import errors
from aggregator.models import Subscriber, utcnow
from cli_support import current, echo_rows

subscribers_app = typer.Typer(help="Digest subscribers.", no_args_is_help=True)


@subscribers_app.command("add")
def subscribers_add(
    email: str,
    topic: Annotated[
        list[str] | None, typer.Option("--topic", help="Topic slug (repeatable)")
    ] = None,
    town: Annotated[
        list[str] | None, typer.Option("--town", help="Town or postcode (repeatable)")
    ] = None,
    lang: Annotated[str, typer.Option("--lang", help="fr or en")] = "fr",
    no_online: Annotated[bool, typer.Option("--no-online", help="Leave out online events")] = False,
) -> None:
    """Add someone who already consented: confirmed at once."""
    from newsletter.subscribers import add_confirmed

    if lang not in ("fr", "en"):
        raise typer.BadParameter("use fr or en", param_hint="--lang")
    towns = _resolve_towns(town or [])
    topics = _check_topics(topic or [])
    with current().session() as session:
        sub = add_confirmed(
            session,
            email,
            language=lang,
            topics=topics,
            towns=towns,
            include_online=not no_online,
            origin="cli",
            now=utcnow(),
        )
        typer.echo(f"Subscriber {sub.id}: {sub.email} ({sub.status})")


def _resolve_towns(values: list[str]) -> list[str]:
    from aggregator.regions import load_region

    region = load_region(current().settings.region)
    codes = []
    for value in values:
        commune = region.match_town(value)
        if commune is None:
            raise typer.BadParameter(
                f"{value!r} is not a town of {region.display_name}", param_hint="--town"
            )
        codes.append(commune.insee)
    return codes


def _check_topics(values: list[str]) -> list[str]:
    from aggregator.regions import load_region
    from aggregator.topics import load_taxonomy

    known = set(load_taxonomy(load_region(current().settings.region)).labels())
    for value in values:
        if value not in known:
            raise typer.BadParameter(
                f"unknown topic {value!r}; one of: {', '.join(sorted(known))}", param_hint="--topic"
            )
    return values


@subscribers_app.command("list")
def subscribers_list(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List subscribers with their state and preferences."""
    with current().session() as session:
        rows = session.exec(select(Subscriber).order_by(Subscriber.id)).all()  # type: ignore[arg-type]
        data = [
            {
                "id": s.id,
                "email": s.email,
                "status": s.status,
                "language": s.language,
                "topics": s.topics,
                "towns": s.towns,
                "include_online": s.include_online,
            }
            for s in rows
        ]
    echo_rows(data, as_json=as_json, empty="No subscribers yet.", lines=_subscriber_lines)


def _subscriber_lines(row: dict[str, Any]) -> list[str]:
    topics = ",".join(row["topics"] or []) or "all"
    towns = ",".join(row["towns"] or []) or "all"
    return [
        f"{row['id']:>5}  {row['status']:<12} {row['language']}  {row['email']:<40} "
        f"topics={topics} towns={towns}"
    ]


@subscribers_app.command("import")
def subscribers_import(path: Path) -> None:
    """Import subscribers (email, language, topics, towns) who consented elsewhere."""
    from newsletter.importer import import_subscribers_csv

    if not path.is_file():
        raise errors.NotFoundError(f"no such file: {path}")
    with current().session() as session:
        report = import_subscribers_csv(
            session, path, now=utcnow(), region=current().settings.region
        )
    typer.echo(
        f"{report.added} added, {report.present} already present, {len(report.invalid)} invalid"
    )
    for row, email, reason in report.invalid:
        typer.echo(f"  row {row} ({email}): {reason}")
