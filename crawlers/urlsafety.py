"""Where we never fetch: the SSRF guard shared by the crawler, the preview and ``extract``.

Two layers, both raising :class:`~aggregator.errors.BlockedURLError` with a reason an
admin can read:

* :func:`check_url` — pure: the scheme (http/https; ``file`` only for admin-configured
  sources), the host as written (IP literals in every spelling a resolver accepts:
  ``2130706433``, ``0177.0.0.1``, ``0x7f.1``, ``127.1``, ``[::ffff:127.0.0.1]``) and
  names that are never public (``localhost``, ``metadata.google.internal``).
* :func:`resolve_checked` / :func:`check_address` — the address a name resolves to,
  checked where the connection is made (the fetcher's transport and the crawler's DNS
  resolver call them), so DNS answers pointing inward are refused on every hop.

:class:`Allowlist` (``Settings.fetch_allowlist``: comma-separated host names and CIDR
ranges) is the one switch that lets an address or name through; tests and the demo set it
to ``127.0.0.0/8,::1``.
"""

from __future__ import annotations

import ipaddress
import socket
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

from aggregator.errors import BlockedURLError, ConfigError, FetchError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

WEB_SCHEMES = frozenset({"http", "https"})
METADATA_HOSTS = frozenset(
    {"metadata.google.internal", "metadata.goog", "metadata", "instance-data"}
)
METADATA_ADDRESSES = frozenset(
    {
        ipaddress.ip_address("169.254.169.254"),  # AWS, GCP, Azure, OpenStack
        ipaddress.ip_address("169.254.170.2"),  # AWS ECS task metadata
        ipaddress.ip_address("100.100.100.200"),  # Alibaba Cloud
        ipaddress.ip_address("fd00:ec2::254"),  # AWS IMDS over IPv6
    }
)
_LOOPBACK = ipaddress.IPv4Address("127.0.0.1")
_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_DOTS = str.maketrans({"\u3002": ".", "\uff0e": ".", "\uff61": "."})


@dataclass(frozen=True)
class Allowlist:
    """Host names and networks allowed past the guard (intranets, tests, the demo)."""

    hosts: frozenset[str] = frozenset()
    networks: tuple[Network, ...] = field(default_factory=tuple)

    @classmethod
    def parse(cls, text: str | None) -> Allowlist:
        """Read ``"127.0.0.0/8, ::1, intranet.example"``; a malformed CIDR range is a
        ConfigError (refused loudly, never silently ignored)."""
        hosts: set[str] = set()
        networks: list[Network] = []
        for raw in (text or "").split(","):
            item = raw.strip().lower()
            if not item:
                continue
            try:
                networks.append(ipaddress.ip_network(item.strip("[]"), strict=False))
            except ValueError:
                if "/" in item:
                    raise ConfigError(f"FETCH_ALLOWLIST: {item!r} is not a CIDR range") from None
                hosts.add(item.rstrip("."))
        return cls(frozenset(hosts), tuple(networks))

    def allows_host(self, host: str) -> bool:
        return normalize_host(host) in self.hosts

    def allows_address(self, address: IPAddress) -> bool:
        candidates = [address]
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
            candidates.append(address.ipv4_mapped)
        return any(
            c in net for c in candidates for net in self.networks if c.version == net.version
        )


def normalize_host(host: str) -> str:
    """Lower-case, percent-decoded, NFKC-folded host with IDNA dot variants made plain dots."""
    text = unicodedata.normalize("NFKC", unquote(host)).translate(_DOTS).lower()
    return text.strip("[]").rstrip(".")


def _ipv4_part(text: str) -> int | None:
    if not text:
        return None
    try:
        if text[:2] in ("0x", "0X"):
            return int(text[2:] or "0", 16)
        if len(text) > 1 and text[0] == "0":
            return int(text[1:], 8)
        return int(text, 10) if text.isdigit() else None
    except ValueError:
        return None


def parse_ip_literal(host: str) -> IPAddress | None:
    """The address a host string names as a literal, in any spelling ``inet_aton`` accepts.

    ``127.0.0.1``, ``127.1``, ``2130706433``, ``0x7f000001``, ``0177.0.0.1``, ``0x7f.1``,
    ``::1``, ``::ffff:7f00:1`` all give an address; a host name gives ``None``.
    """
    text = normalize_host(host)
    if ":" in text:
        try:
            return ipaddress.IPv6Address(text.split("%", 1)[0])
        except ValueError:
            return None
    parts = text.split(".")
    if not 1 <= len(parts) <= 4:
        return None
    numbers = [_ipv4_part(p) for p in parts]
    if any(n is None for n in numbers):
        return None
    values = [n for n in numbers if n is not None]
    *head, last = values
    if any(n > 255 for n in head) or last >= 256 ** (4 - len(head)):
        return None
    value = 0
    for n in head:
        value = value * 256 + n
    value = value * 256 ** (4 - len(head)) + last
    return ipaddress.IPv4Address(value)


def blocked_reason(address: IPAddress) -> str | None:
    """Why an address is never fetched, or ``None`` when it is public."""
    if address in METADATA_ADDRESSES:
        return "a cloud metadata address"
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and address in _NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is None and address.teredo:
            embedded = address.teredo[1]
        if embedded is not None:
            inner = blocked_reason(embedded)
            return f"an IPv6 form of {embedded}, {inner}" if inner else None
    checks: list[tuple[bool, str]] = [
        (address.is_unspecified, "the unspecified address"),
        (address.is_loopback, "a loopback address (this machine)"),
        (address.is_link_local, "a link-local address"),
        (address.is_multicast, "a multicast address"),
        (
            isinstance(address, ipaddress.IPv4Address) and address in _CGNAT,
            "a carrier-grade NAT address",
        ),
        (address.is_private, "a private network address"),
        (address.is_reserved, "a reserved address"),
        (not address.is_global, "not a public internet address"),
    ]
    for hit, reason in checks:
        if hit:
            return reason
    return None


def check_address(address: IPAddress, allowlist: Allowlist, *, host: str = "") -> None:
    """Raise BlockedURLError when ``address`` is not public and not allow-listed."""
    if allowlist.allows_address(address):
        return
    reason = blocked_reason(address)
    if reason:
        shown = f"{host} ({address})" if host and host != str(address) else str(address)
        raise BlockedURLError(f"refused to fetch {shown}: {reason}")


def check_url(url: str, allowlist: Allowlist, *, admin_source: bool = False) -> str:
    """Pure checks of a URL as written; returns it unchanged when acceptable.

    Host names are not resolved here: :func:`resolve_checked` does that where the
    connection is made.
    """
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise BlockedURLError(f"refused to fetch {url!r}: not a valid URL ({exc})") from exc
    scheme = parts.scheme.lower()
    if scheme == "file":
        if admin_source:
            return url
        raise BlockedURLError("refused to fetch a file:// URL: only admins may configure one")
    if scheme not in WEB_SCHEMES:
        raise BlockedURLError(f"refused to fetch {url!r}: only http and https URLs are fetched")
    raw_host = parts.hostname or ""
    if not raw_host:
        raise BlockedURLError(f"refused to fetch {url!r}: the URL has no host")
    if port == 0:
        raise BlockedURLError(f"refused to fetch {url!r}: port 0")
    host = normalize_host(raw_host)
    if allowlist.allows_host(host):
        return url
    address = parse_ip_literal(host)
    if address is None and (host == "localhost" or host.endswith(".localhost")):
        address = _LOOPBACK  # RFC 6761: always this machine
    if address is not None:
        check_address(address, allowlist, host=raw_host)
        return url
    if host in METADATA_HOSTS or host.endswith((".internal", ".local")):
        raise BlockedURLError(f"refused to fetch {raw_host}: an internal host name")
    if not all(c.isalnum() or c in "-._" for c in host):
        raise BlockedURLError(f"refused to fetch {raw_host!r}: not a valid host name")
    return url


def resolve_checked(
    host: str, port: int, allowlist: Allowlist, *, family: int = socket.AF_UNSPEC
) -> list[IPAddress]:
    """Resolve ``host`` and refuse it when any address it resolves to is blocked.

    Every answer must pass (a name with one public and one inward address is refused), so
    the caller may connect to any of the returned addresses.
    """
    name = normalize_host(host)
    literal = parse_ip_literal(name)
    if literal is not None:
        check_address(literal, allowlist, host=host)
        return [literal]
    try:
        infos = socket.getaddrinfo(name, port, family, socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise FetchError(f"cannot resolve {host}: the name does not exist or DNS failed") from exc
    addresses = _unique(ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos)
    if not allowlist.allows_host(name):
        for address in addresses:
            check_address(address, allowlist, host=host)
    return addresses


def _unique(addresses: Iterable[IPAddress]) -> list[IPAddress]:
    seen: list[IPAddress] = []
    for address in addresses:
        if address not in seen:
            seen.append(address)
    return seen
