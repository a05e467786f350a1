"""One document read end to end: fetch result → detected platform → parse → normalise.

:func:`read_document` is the single reading path shared by the crawler's spider, the
organizer preview / ``sources check`` (through :mod:`crawlers.check`) and
``techagenda extract``: the same detection, the same parsers, the same online settling,
and — when a region is given — the same :func:`aggregator.normalize.normalize` that
ingest applies, so a preview shows what will be stored.

:func:`read_isolated` runs it in a child process with an address-space limit
(``RLIMIT_AS``), a CPU limit and a wall-clock limit. A hostile document (a recurrence
rule expanding for decades, a page nested beyond reason) then costs the child, never the
web process: the answer is a clear finding ("trop d'occurrences" / "document trop
complexe") instead of a grown or stuck server.
"""

from __future__ import annotations

import multiprocessing
import os
import resource
import signal
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from multiprocessing.connection import Connection
from typing import Any

from aggregator.errors import ParseError, UnsupportedFormatError
from aggregator.normalize import NormalizedEvent, normalize
from aggregator.raw import RawEvent, SourceDefaults
from aggregator.regions import Region, load_region
from crawlers import lint
from crawlers.lint import Finding
from crawlers.parsers import ParseResult, parse_document
from crawlers.parsers.recurrence import TOO_MANY

MAX_OCCURRENCES = 5000  # more events than this from one document: "too many occurrences"
MEMORY_MB = 768  # address space a child may add to what it starts with
SECONDS = 20.0  # wall-clock limit of a child


@dataclass(frozen=True)
class Fetched:
    """What a fetch returned: the body, the final URL and the response headers."""

    body: bytes
    url: str
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Reading:
    """What one document held, and how it was read."""

    platform: str  # "ical", "rss", "openagenda", "jsonld", "hcalendar", "time-cards", ...
    events: list[RawEvent]
    normalized: list[NormalizedEvent]  # same order as ``events``; empty without a region
    links: list[str]
    warnings: list[str]
    findings: list[Finding]

    def as_result(self) -> ParseResult:
        """The parser-level view (what a spider's ``extract`` returns)."""
        return ParseResult(
            self.platform, self.events, self.links, self.warnings, platform=self.platform
        )


def read_document(
    fetched: Fetched, defaults: SourceDefaults, *, region: Region | None = None
) -> Reading:
    """Read one fetched document. Raises ParseError / UnsupportedFormatError when no
    parser can read it; every lesser problem is a warning and a finding."""
    result = parse_document(
        fetched.body, url=fetched.url, headers=fetched.headers, defaults=defaults
    )
    findings: list[Finding] = []
    capped = any(w.startswith(TOO_MANY) for w in result.warnings)  # a series cut short
    if len(result.events) > MAX_OCCURRENCES or capped:
        findings.append(too_many_occurrences(len(result.events), capped=capped))
    notes = lint.parser_notes(result.warnings)
    if notes is not None:
        findings.append(notes)
    normalized: list[NormalizedEvent] = []
    if region is not None:
        normalized = [normalize(e, defaults=_for_region(defaults, region), region=region)
                      for e in result.events[:MAX_OCCURRENCES]]  # fmt: skip
    return Reading(
        platform=result.platform or result.format,
        events=list(result.events),
        normalized=normalized,
        links=list(result.links),
        warnings=list(result.warnings),
        findings=findings,
    )


def _for_region(defaults: SourceDefaults, region: Region) -> SourceDefaults:
    if defaults.timezone and defaults.language:
        return defaults
    return replace(
        defaults,
        timezone=defaults.timezone or region.timezone,
        language=defaults.language or region.language,
    )


# ------------------------------------------------------------------ findings


def too_many_occurrences(count: int, *, capped: bool = False) -> Finding:
    """The document lists more events than any agenda we read should (``capped``: the
    iCalendar parser already cut a repeating event to its first dates)."""
    if capped:
        return Finding(
            "too_many_occurrences",
            lint.WARNING,
            "Trop d'occurrences : une règle de répétition (RRULE) de ce document donne trop "
            "de dates (toutes les secondes, minutes ou heures, ou sans fin) ; seules ses "
            "premières dates sont gardées. Bornez-la (COUNT ou UNTIL) ou publiez les dates "
            "une à une.",
            "Too many occurrences: a repeat rule (RRULE) of this document gives too many "
            "dates (every second, minute or hour, or with no end); only its first dates are "
            "kept. Bound it (COUNT or UNTIL) or publish the dates one by one.",
            count,
        )
    return Finding(
        "too_many_occurrences",
        lint.ERROR,
        f"Trop d'occurrences : ce document produit plus de {MAX_OCCURRENCES} événements "
        f"({count}). Une règle de répétition (RRULE) sans fin ou trop fréquente en est "
        "souvent la cause : bornez-la (COUNT ou UNTIL) ou publiez les dates une à une.",
        f"Too many occurrences: this document gives more than {MAX_OCCURRENCES} events "
        f"({count}). A repeat rule (RRULE) with no end or too frequent is the usual cause: "
        "bound it (COUNT or UNTIL) or publish the dates one by one.",
        count,
    )


def too_complex(reason: str) -> Finding:
    """The child reading the document ran out of memory or time (or died)."""
    return Finding(
        "too_complex",
        lint.ERROR,
        "Document trop complexe : le lire demande plus de mémoire ou de temps que nous "
        f"n'en accordons ({_reason_fr(reason)}). Une récurrence qui produit trop "
        "d'occurrences (par exemple toutes les heures pendant des années) en est souvent la "
        "cause : bornez-la, ou publiez moins d'événements par document.",
        "Document too complex: reading it takes more memory or time than we allow "
        f"({reason}). A recurrence giving too many occurrences (say hourly for years) is "
        "the usual cause: bound it, or publish fewer events per document.",
    )


def _reason_fr(reason: str) -> str:
    return {
        "out of memory": "mémoire épuisée",
        "out of time": "temps écoulé",
    }.get(reason, "lecture interrompue")


# ------------------------------------------------------------------ the child process


@dataclass(frozen=True)
class Limits:
    """What a child reading one document may use."""

    memory_mb: int = MEMORY_MB
    seconds: float = SECONDS


def read_isolated(
    fetched: Fetched,
    defaults: SourceDefaults,
    *,
    region_name: str | None = None,
    limits: Limits | None = None,
) -> Reading:
    """:func:`read_document` in a child process under ``limits``.

    Raises ParseError / UnsupportedFormatError as :func:`read_document` does. A child that
    runs out of memory, out of time or dies answers a :class:`Reading` with no events and
    one ``too_complex`` finding.
    """
    limits = limits or Limits()
    context = _context()
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(
        target=_child,
        args=(sender, fetched, defaults, region_name, limits),
        name="techagenda-read",
        daemon=True,
    )
    child.start()
    sender.close()
    try:
        answer: tuple[str, Any] = ("crashed", "out of time")
        if receiver.poll(limits.seconds):
            try:
                answer = receiver.recv()
            except (EOFError, OSError):
                child.join(2)
                died = child.exitcode in (-signal.SIGXCPU, -signal.SIGKILL)
                answer = ("crashed", "out of time" if died else "the reader died")
    finally:
        receiver.close()
        if child.is_alive():
            child.kill()
        child.join(5)
    kind, value = answer
    if kind == "ok":
        assert isinstance(value, Reading)
        return value
    if kind == "unsupported":
        raise UnsupportedFormatError(str(value))
    if kind == "parse":
        raise ParseError(str(value))
    return Reading("unknown", [], [], [], [str(value)], [too_complex(str(value))])


_PRELOADED = False


def _context() -> Any:
    """The forkserver context: children fork from a small single-threaded server that has
    already imported the parsers (fast to start, safe from a threaded web process)."""
    global _PRELOADED
    context = multiprocessing.get_context("forkserver")
    if not _PRELOADED:
        context.set_forkserver_preload(["crawlers.document"])
        _PRELOADED = True
    return context


def _child(
    sender: Connection,
    fetched: Fetched,
    defaults: SourceDefaults,
    region_name: str | None,
    limits: Limits,
) -> None:
    """Body of the child: limit itself, read, send one answer."""
    try:
        _limit_self(limits)
        region = load_region(region_name) if region_name else None
        answer: tuple[str, Any] = ("ok", read_document(fetched, defaults, region=region))
    except MemoryError:
        answer = ("crashed", "out of memory")
    except UnsupportedFormatError as exc:
        answer = ("unsupported", str(exc))
    except ParseError as exc:  # a parser may have wrapped the MemoryError that stopped it
        answer = ("crashed", "out of memory") if _from_memory(exc) else ("parse", str(exc))
    except RecursionError:
        answer = ("crashed", "nested too deeply")
    except Exception as exc:  # a parser bug: the organizer still gets a plain answer
        answer = ("parse", f"could not read the document ({type(exc).__name__})")
    try:
        sender.send(answer)
    except MemoryError:
        sender.send(("crashed", "out of memory"))
    finally:
        sender.close()


def _from_memory(exc: BaseException) -> bool:
    """True when a MemoryError is anywhere in the exception's cause chain."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, MemoryError):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


def _limit_self(limits: Limits) -> None:
    """Cap this process's address space at what it uses now plus ``memory_mb``, and its CPU."""
    used = _address_space()
    cap = used + limits.memory_mb * 1024 * 1024
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        cap = min(cap, hard)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    seconds = int(limits.seconds) + 1
    _, cpu_hard = resource.getrlimit(resource.RLIMIT_CPU)
    if cpu_hard == resource.RLIM_INFINITY or cpu_hard > seconds:
        resource.setrlimit(resource.RLIMIT_CPU, (seconds, cpu_hard))


def _address_space() -> int:
    """This process's virtual memory size in bytes (Linux ``/proc``; 0 elsewhere)."""
    try:
        with open(f"/proc/{os.getpid()}/statm", encoding="ascii") as handle:
            pages = int(handle.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 0
    return pages * os.sysconf("SC_PAGE_SIZE")
