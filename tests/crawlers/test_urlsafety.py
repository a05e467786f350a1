"""The SSRF guard: every hostile URL of the corpus is refused; public ones pass."""

from __future__ import annotations

import ipaddress
import socket
from pathlib import Path

import pytest

from aggregator.errors import BlockedURLError, ConfigError
from crawlers.middlewares import GuardedResolver
from crawlers.urlsafety import (
    Allowlist,
    blocked_reason,
    check_url,
    parse_ip_literal,
    resolve_checked,
)

SSRF = Path(__file__).parents[1] / "data" / "ssrf"


def corpus(name: str) -> list[str]:
    lines = (SSRF / name).read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


HOSTILE = corpus("urls.txt")
NOBODY = Allowlist.parse("")


def test_the_corpus_holds_at_least_forty_hostile_urls() -> None:
    assert len(HOSTILE) >= 40
    assert len(set(HOSTILE)) == len(HOSTILE)


@pytest.mark.parametrize("url", HOSTILE)
def test_hostile_url_is_refused_with_a_reason(url: str) -> None:
    with pytest.raises(BlockedURLError, match="refused"):
        check_url(url, NOBODY)


@pytest.mark.parametrize(
    "url",
    [
        "https://www.meetup.com/fr-FR/marseille-python/events/ical/",
        "http://93.184.216.34/agenda.ics",
        "https://[2606:4700:4700::1111]/feed",
        "https://openagenda.com/agendas/12345/events.v2.json?lang=fr",
        "https://xn--caf-dma.example/agenda",
        "http://8.8.8.8:8080/",
    ],
)
def test_public_urls_pass_the_check(url: str) -> None:
    assert check_url(url, NOBODY) == url


@pytest.mark.parametrize(
    ("spelling", "address"),
    [
        ("2130706433", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("0x7F000001", "127.0.0.1"),
        ("0251.0376.0251.0376", "169.254.169.254"),
        ("10.1", "10.0.0.1"),
        ("[::ffff:127.0.0.1]", "::ffff:7f00:1"),
        ("127%2e0%2e0%2e1", "127.0.0.1"),
        ("127。0。0。1", "127.0.0.1"),
    ],
)
def test_every_ip_spelling_a_resolver_accepts_is_read_as_that_address(
    spelling: str, address: str
) -> None:
    assert parse_ip_literal(spelling) == ipaddress.ip_address(address)


@pytest.mark.parametrize("host", ["example.com", "1.2.3.4.5", "256.1.1.1", "08.1.1.1", "café.fr"])
def test_names_and_impossible_numbers_are_not_ip_literals(host: str) -> None:
    assert parse_ip_literal(host) is None


def test_ipv4_mapped_ipv6_is_judged_by_its_ipv4_address() -> None:
    reason = blocked_reason(ipaddress.ip_address("::ffff:169.254.169.254"))
    assert reason is not None and "metadata" in reason


def test_the_allowlist_lets_loopback_through_and_nothing_else() -> None:
    loopback = Allowlist.parse("127.0.0.0/8, ::1")
    assert check_url("http://127.0.0.1:8000/feed.ics", loopback)
    assert check_url("http://localhost:8000/feed.ics", loopback)
    assert check_url("http://[::ffff:127.0.0.1]/", loopback)
    with pytest.raises(BlockedURLError):
        check_url("http://10.0.0.1/", loopback)
    with pytest.raises(BlockedURLError):
        check_url("http://169.254.169.254/", loopback)


def test_an_allow_listed_intranet_host_name_passes() -> None:
    intranet = Allowlist.parse("agenda.intranet.local, 10.20.0.0/16")
    assert check_url("http://agenda.intranet.local/events.ics", intranet)
    assert check_url("http://10.20.3.4/events.ics", intranet)
    with pytest.raises(BlockedURLError):
        check_url("http://10.21.3.4/events.ics", intranet)


def test_a_malformed_cidr_in_the_allowlist_is_refused_loudly() -> None:
    with pytest.raises(ConfigError, match="CIDR"):
        Allowlist.parse("10.0.0.0/33")


def test_file_urls_pass_only_for_admin_configured_sources() -> None:
    with pytest.raises(BlockedURLError, match="admin"):
        check_url("file:///srv/agenda.ics", NOBODY)
    assert check_url("file:///srv/agenda.ics", NOBODY, admin_source=True)


def test_a_name_resolving_to_loopback_is_refused_at_resolution() -> None:
    name = socket.gethostname()
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(name, 80)}
    except OSError:
        pytest.skip("this machine's name does not resolve")
    if all(blocked_reason(ipaddress.ip_address(a.split("%")[0])) is None for a in addresses):
        pytest.skip("this machine's name resolves to a public address")
    assert check_url(f"http://{name}/", NOBODY)  # the name alone says nothing...
    with pytest.raises(BlockedURLError, match="refused"):
        resolve_checked(name, 80, NOBODY)  # ...its address does
    assert resolve_checked(name, 80, Allowlist.parse("0.0.0.0/0, ::/0"))


def test_the_crawlers_dns_resolver_refuses_inward_answers() -> None:
    from twisted.internet.error import DNSLookupError

    resolver = GuardedResolver.__new__(GuardedResolver)
    resolver.allowlist = NOBODY
    with pytest.raises(DNSLookupError, match="loopback"):
        resolver._check("127.0.0.1", "rebind.example")
    with pytest.raises(DNSLookupError, match="metadata"):
        resolver._check("169.254.169.254", "rebind.example")
    assert resolver._check("93.184.216.34", "example.com") == "93.184.216.34"
    resolver.allowlist = Allowlist.parse("127.0.0.0/8")
    assert resolver._check("127.0.0.1", "localhost") == "127.0.0.1"
