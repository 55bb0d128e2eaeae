"""Which webhook addresses slaguard may call: only http(s), and never loopback, link-local,
private or otherwise internal addresses unless the operator allows them on purpose.

Checked twice: when the rules file names the URL, and again at every connection, on every
address the name resolves to, because a name that looked public at config time may resolve to
an internal address later (DNS rebinding). The sender connects to the address it checked.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from urllib.parse import urlsplit

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], list[str]]
ALLOWED_SCHEMES = ("http", "https")


class AddressRefused(ValueError):  # noqa: N818 (reads as the outcome it reports)
    """The URL or an address it resolves to may not be called."""


class ResolutionFailed(OSError):  # noqa: N818 (reads as the outcome it reports)
    """The host name did not resolve now; it may later (a network failure, not a refusal)."""


def system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def is_internal(address: IpAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return is_internal(address.ipv4_mapped)
    return (
        address.is_loopback
        or address.is_link_local
        or address.is_private
        or address.is_reserved
        or address.is_multicast
        or address.is_unspecified
        or not address.is_global
    )


def _literal(host: str) -> IpAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def split_target(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of an http(s) URL, or AddressRefused saying what is wrong."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise AddressRefused(f"is not a valid URL: {error}") from None
    scheme = parts.scheme.lower()
    if scheme not in ALLOWED_SCHEMES:
        raise AddressRefused(f"expected an http or https URL, got scheme {scheme or '(none)'!r}")
    if not parts.hostname:
        raise AddressRefused("expected a host name in the URL")
    if parts.username or parts.password:
        raise AddressRefused("expected no user name or password in the URL")
    return scheme, parts.hostname, port or (443 if scheme == "https" else 80)


def check_address(address: str, *, allow_private: bool) -> IpAddress:
    parsed = ipaddress.ip_address(address.split("%", 1)[0])
    if is_internal(parsed) and not allow_private:
        raise AddressRefused(
            f"resolves to the internal address {parsed}; set "
            "SLAGUARD_WEBHOOKS_ALLOW_PRIVATE=true to allow internal addresses on purpose"
        )
    return parsed


def check_url(url: str, *, allow_private: bool) -> None:
    """The config-time check: scheme, host, and a literal address or `localhost`. Names are
    resolved at connection time (they may not resolve where `rules check` runs)."""
    _, host, _ = split_target(url)
    if allow_private:
        return
    literal = _literal(host)
    if literal is not None:
        check_address(str(literal), allow_private=False)
    elif host.lower().rstrip(".") == "localhost" or host.lower().endswith(".localhost"):
        raise AddressRefused("names the local host; set SLAGUARD_WEBHOOKS_ALLOW_PRIVATE=true")


def vetted_addresses(
    url: str, *, allow_private: bool, resolver: Resolver = system_resolver
) -> list[IpAddress]:
    """Every address the URL's host has now, each checked; AddressRefused if any is internal
    (one bad answer among good ones is still an attempt to reach inside)."""
    _, host, port = split_target(url)
    literal = _literal(host)
    try:
        answers = [str(literal)] if literal is not None else resolver(host, port)
    except OSError as error:
        raise ResolutionFailed(f"cannot resolve {host}: {error.strerror or error}") from None
    if not answers:
        raise ResolutionFailed(f"{host} has no addresses")
    return [check_address(answer, allow_private=allow_private) for answer in answers]
