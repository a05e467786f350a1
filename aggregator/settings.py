"""One settings object, read once in an entry point and passed down.

Values come from, in order of precedence: explicit keyword arguments, environment
variables, an optional ``techagenda.toml`` in the working directory (or the file named by
``TECHAGENDA_CONFIG``), then the defaults below. Nothing here runs at import time.
"""

from __future__ import annotations

import os
import secrets
import tomllib
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from aggregator.errors import ConfigError
from aggregator.regions import load_region
from aggregator.timeutil import zone


def _toml_file() -> Path:
    return Path(os.environ.get("TECHAGENDA_CONFIG", "techagenda.toml"))


class _TomlSource(PydanticBaseSettingsSource):
    """Reads flat keys (``database_url = "..."``) from techagenda.toml when it exists."""

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        path = _toml_file()
        if not path.is_file():
            return {}
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML ({exc})") from exc
        return {k.lower(): v for k, v in data.items()}


class Settings(BaseSettings):
    """Every setting of the service. Field names are the env variable names, lower-cased."""

    model_config = SettingsConfigDict(extra="ignore", case_sensitive=False)

    data_dir: Path = Field(Path("var"), description="Folder for the SQLite file, outbox, secret.")
    database_url: str = Field(
        "", description="SQLAlchemy URL; default sqlite:///<data_dir>/techagenda.db"
    )
    mail_url: str = Field("", description="smtp://user:pass@host:port, file://dir or console://")
    mail_from: str = Field("Techagenda <digest@techagenda.localhost>", description="From header")
    secret_key: str = Field("", description="Signs tokens; generated into data_dir when empty")
    timezone: str = Field("", description="Default IANA timezone; empty: the region pack's")
    region: str = Field("aix-marseille", description="Region pack name")
    base_url: str = Field("http://127.0.0.1:8000", description="Public URL of the web app")
    user_agent_contact: str = Field(
        "https://github.com/techagenda/techagenda", description="Contact URL in our User-Agent"
    )
    fetch_allowlist: str = Field(
        "", description="Comma-separated hosts/CIDRs allowed past the SSRF guard"
    )
    crawl_interval: str = Field("6h", description="Default per-source crawl interval")
    crawl_flag_after: int = Field(5, description="Consecutive failures before a source is flagged")
    crawl_gone_after: int = Field(
        3, description="Successful crawls an event must be missing from before it counts as gone"
    )
    crawl_runs_keep_days: int = Field(90, description="Crawl records older than this are purged")
    crawl_timeout: int = Field(900, description="Seconds before a crawl child process is killed")
    download_timeout: int = Field(30, description="Seconds per HTTP request")
    download_maxsize: int = Field(5 * 1024 * 1024, description="Bytes per response")
    max_events_per_source: int = Field(2000, description="Events kept per source per crawl")
    crawl_window_past_days: int = Field(30, description="Recurrences expanded this far back")
    crawl_window_future_days: int = Field(180, description="...and this far ahead")
    digest_schedule: str = Field("0 8 * * mon", description="Cron expression of the weekly send")
    digest_gate: str = Field("auto", description="auto: send unless a check fails hard; gated: wait for an admin")
    digest_send_empty: bool = Field(False, description="Send a digest even when nothing matches")
    mail_rate_per_second: float = Field(0.0, description="Messages per second; 0 means unlimited")
    smtp_connections: int = Field(
        1, ge=1, le=16, description="SMTP connections a digest send keeps in flight (1-16)"
    )
    send_processes: int = Field(
        1, ge=1, le=8, description="Processes a digest send composes and sends in (1-8)"
    )
    mail_max_hard_bounces: int = Field(3, description="Hard bounces before a subscriber is bounced")
    subscribe_resend_minutes: int = Field(
        15, description="Minutes before one address can get another confirmation mail"
    )
    subscribe_mails_per_day: int = Field(3, description="Confirmation mails per address per day")
    legal_line: str = Field(
        "Techagenda, Marseille, France", description="Sender's postal address in every email"
    )
    redis_url: str = Field("", description="Enables shared crawl queue when set")
    relevance_threshold: float = Field(1.0, description="Default tech-relevance threshold")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, _TomlSource(settings_cls))

    @field_validator("timezone")
    @classmethod
    def _valid_timezone(cls, value: str) -> str:
        if not value:
            return value
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown timezone {value!r}") from exc
        return value

    @model_validator(mode="after")
    def _timezone_of_the_region(self) -> Settings:
        """No TIMEZONE given: the region pack's (UTC while the pack cannot be read; loading
        the region then says what is wrong with it)."""
        if not self.timezone:
            try:
                self.timezone = load_region(self.region).timezone
            except ConfigError:
                self.timezone = "UTC"
        return self

    @property
    def db_url(self) -> str:
        """The database URL, defaulting to a SQLite file in the data dir."""
        return self.database_url or f"sqlite:///{self.data_dir / 'techagenda.db'}"

    @property
    def outbox_url(self) -> str:
        """The mailer URL, defaulting to a file outbox in the data dir."""
        return self.mail_url or f"file://{self.data_dir / 'outbox'}"

    @property
    def tz(self) -> ZoneInfo:
        """The default zone (``aggregator.timeutil.zone``, cached)."""
        return zone(self.timezone)

    def to_env(self) -> dict[str, str]:
        """Environment variables that rebuild these settings in a child process."""
        env: dict[str, str] = {}
        for name, value in self.model_dump().items():
            if value is None:
                continue
            if isinstance(value, bool):
                env[name.upper()] = "true" if value else "false"
            else:
                env[name.upper()] = str(value)
        return env


def load_settings(**overrides: Any) -> Settings:
    """Build the settings once; create the data dir and the secret key when absent."""
    try:
        settings = Settings(**overrides)
    except ConfigError:
        raise
    except ValueError as exc:
        raise ConfigError(f"invalid configuration: {exc}") from exc
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    if not settings.secret_key:
        settings.secret_key = _stored_secret(settings.data_dir / "secret_key")
    return settings


def _stored_secret(path: Path) -> str:
    if path.is_file():
        return path.read_text(encoding="utf-8").strip()
    key = secrets.token_urlsafe(48)
    path.write_text(key + "\n", encoding="utf-8")
    path.chmod(0o600)
    return key


def parse_interval(text: str) -> int:
    """Parse ``90s``, ``15m``, ``6h``, ``2d`` or plain seconds into seconds."""
    text = text.strip().lower()
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
    try:
        if text and text[-1] in units:
            return int(float(text[:-1]) * units[text[-1]])
        return int(text)
    except ValueError as exc:
        raise ConfigError(f"invalid interval {text!r}: use e.g. 90s, 15m, 6h, 2d") from exc
