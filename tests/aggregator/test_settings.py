"""One settings object: environment over techagenda.toml over defaults; a secret made once."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from aggregator.errors import ConfigError
from aggregator.settings import load_settings, parse_interval


@pytest.fixture(autouse=True)
def clean_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for name in (
        "DATABASE_URL",
        "MAIL_URL",
        "SECRET_KEY",
        "TIMEZONE",
        "REGION",
        "DATA_DIR",
        "TECHAGENDA_CONFIG",
        "CRAWL_INTERVAL",
    ):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def test_defaults_are_a_sqlite_file_and_a_file_outbox_under_var(clean_env: Path) -> None:
    settings = load_settings()
    assert settings.db_url == "sqlite:///var/techagenda.db"
    assert settings.outbox_url == "file://var/outbox"
    assert (settings.timezone, settings.region) == ("Europe/Paris", "aix-marseille")
    assert (clean_env / "var").is_dir()


def test_the_secret_key_is_generated_once_and_kept_private(clean_env: Path) -> None:
    first = load_settings().secret_key
    again = load_settings().secret_key
    assert first == again and len(first) >= 40
    mode = stat.S_IMODE((clean_env / "var" / "secret_key").stat().st_mode)
    assert mode == 0o600


def test_the_environment_wins_over_techagenda_toml(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (clean_env / "techagenda.toml").write_text(
        'timezone = "America/Toronto"\nregion = "montreal"\nCRAWL_INTERVAL = "2h"\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("REGION", "aix-marseille")
    settings = load_settings()
    assert settings.timezone == "America/Toronto"  # from the file, keys in any case
    assert settings.crawl_interval == "2h"
    assert settings.region == "aix-marseille"  # the environment wins


def test_a_config_file_can_be_named_by_techagenda_config(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = clean_env / "prod.toml"
    other.write_text('base_url = "https://agenda.example.fr"\n', encoding="utf-8")
    monkeypatch.setenv("TECHAGENDA_CONFIG", str(other))
    assert load_settings().base_url == "https://agenda.example.fr"


@pytest.mark.parametrize(
    ("content", "message"),
    [('timezone = "Mars/Olympus"', "unknown timezone"), ("timezone = [", "not valid TOML")],
)
def test_a_bad_setting_is_a_config_error(clean_env: Path, content: str, message: str) -> None:
    (clean_env / "techagenda.toml").write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        load_settings()


@pytest.mark.parametrize(
    ("text", "seconds"), [("90s", 90), ("15m", 900), ("6h", 21600), ("2d", 172800), ("3600", 3600)]
)
def test_intervals_read_like_people_write_them(text: str, seconds: int) -> None:
    assert parse_interval(text) == seconds


def test_a_nonsense_interval_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="invalid interval"):
        parse_interval("soon")


def test_the_default_timezone_is_the_region_packs(clean_env: Path) -> None:
    montreal = Path(__file__).parent.parent / "data" / "regions" / "montreal"
    assert load_settings(region=str(montreal)).timezone == "America/Toronto"
    assert load_settings(region=str(montreal), timezone="Europe/Paris").timezone == "Europe/Paris"
    assert load_settings().tz.key == "Europe/Paris"  # aix-marseille's region.toml says so
