"""The one exception tree of techagenda.

    TechagendaError            base of everything we raise on purpose
    ├── ConfigError            a setting is missing or invalid
    ├── StoreError             the database refused or is unreachable
    ├── SourceError            a source could not be used (carries ``source_id``)
    │   ├── FetchError         download failed: HTTP status, timeout, size cap
    │   │   └── BlockedURLError  the URL points where we never fetch (SSRF guard)
    │   └── ParseError         the body was read but is not a usable format
    │       └── UnsupportedFormatError  no parser recognises the body
    ├── MailError              a message could not be handed over
    │   ├── TemporaryMailError   4xx / connection dropped: retry later
    │   └── PermanentMailError   5xx: do not retry this address
    ├── NotFoundError          a named row (source, subscriber, event) does not exist
    ├── InvalidInputError      user input rejected (bad email address, unknown topic...)
    └── InvalidTokenError      a signed link is forged, expired, revoked or of another scope

Foreign errors are wrapped at the boundary with ``raise ... from exc`` so callers only
ever catch these. Every message is written for an admin, not a developer.
"""

from __future__ import annotations


class TechagendaError(Exception):
    """Base class of every error raised on purpose by techagenda."""


class ConfigError(TechagendaError):
    """A setting is missing or invalid."""


class StoreError(TechagendaError):
    """The database refused an operation or cannot be reached."""


class SourceError(TechagendaError):
    """A source could not be fetched or read."""

    def __init__(self, message: str, *, source_id: int | None = None) -> None:
        super().__init__(message)
        self.source_id = source_id


class FetchError(SourceError):
    """The download failed (status, timeout, size cap, connection)."""

    def __init__(
        self, message: str, *, status: int | None = None, source_id: int | None = None
    ) -> None:
        super().__init__(message, source_id=source_id)
        self.status = status


class BlockedURLError(FetchError):
    """The URL resolves to an address we never fetch (loopback, private, metadata...)."""


class ParseError(SourceError):
    """The body was downloaded but could not be read as any supported format."""


class UnsupportedFormatError(ParseError):
    """No parser recognises this body."""


class MailError(TechagendaError):
    """A message could not be handed to the mail server."""


class TemporaryMailError(MailError):
    """A transient failure (4xx, dropped connection): the delivery stays pending."""


class PermanentMailError(MailError):
    """A permanent failure (5xx): the delivery is failed and counts as a hard bounce."""


class NotFoundError(TechagendaError):
    """A named row does not exist."""


class InvalidInputError(TechagendaError):
    """Input from a person was rejected (bad email address, unknown language...)."""


class InvalidTokenError(TechagendaError):
    """A signed link is forged, expired, revoked, or was made for another purpose."""

    def __init__(self, message: str, *, expired: bool = False) -> None:
        super().__init__(message)
        self.expired = expired
