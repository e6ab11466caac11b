"""Where a webhook may go: `https` URLs whose host resolves only to public addresses. Loopback,
private, link-local, shared (CGNAT), reserved and multicast ranges and the clouds' metadata
addresses are refused, when an endpoint is registered and again at each send, on the address
the send then connects to (so a DNS answer that changes cannot move a delivery there). Hosts
named in GOVERNOR_WEBHOOK_ALLOW_HOSTS are exempt and may use plain `http` (development, tests)."""
from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

METADATA = {ipaddress.ip_address(a) for a in ("169.254.169.254", "168.63.129.16", "100.100.100.200",
                                              "fd00:ec2::254", "169.254.170.2")}
NAT64 = ipaddress.ip_network("64:ff9b::/96")
Resolver = Callable[[str, int], list[str]]


class TargetRefused(Exception):
    """The URL or the address it resolves to may not be sent to; the message says why."""


@dataclass(frozen=True)
class Target:
    url: str
    scheme: str
    host: str
    port: int
    allowed: bool  # named in GOVERNOR_WEBHOOK_ALLOW_HOSTS


def allow_hosts(setting: str) -> frozenset[str]:
    return frozenset(h.strip().lower().strip("[]") for h in setting.split(",") if h.strip())


def parse(url: str, allowed: frozenset[str]) -> Target:
    """The URL's parts, or TargetRefused (not https, no host, credentials in it, a fragment)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as e:
        raise TargetRefused(f"not a valid URL: {e}") from None
    host = (parts.hostname or "").lower()
    if not host:
        raise TargetRefused("the URL has no host")
    if parts.username is not None or parts.password is not None:
        raise TargetRefused("the URL may not carry credentials")
    if parts.fragment:
        raise TargetRefused("the URL may not have a fragment")
    is_allowed = host in allowed
    if parts.scheme != "https" and not (parts.scheme == "http" and is_allowed):
        raise TargetRefused("the URL must use https")
    return Target(url, parts.scheme, host, port or (443 if parts.scheme == "https" else 80), is_allowed)


def refused_address(address: str) -> str | None:
    """Why an address may not be sent to, or None when it is public."""
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo and ip.teredo[1])
        if embedded is None and ip in NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None:
            return refused_address(str(embedded))
    if ip in METADATA:
        return f"{ip} is a cloud metadata address"
    for kind in ("loopback", "private", "link_local", "multicast", "reserved", "unspecified"):
        if getattr(ip, f"is_{kind}"):
            return f"{ip} is a {kind.replace('_', '-')} address"
    if not ip.is_global:
        return f"{ip} is not a public address"
    return None


def system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(info[4][0] for info in infos))


def resolve(target: Target, resolver: Resolver | None = None) -> list[str]:
    """The addresses to connect to, every one of them public; TargetRefused otherwise. An exempt
    host is not resolved here (the HTTP client connects to it by name)."""
    resolver = resolver or system_resolver  # looked up at each call: tests put their own in
    if target.allowed:
        return []
    try:
        addresses = [str(ipaddress.ip_address(target.host))]
    except ValueError:
        try:
            addresses = resolver(target.host, target.port)
        except (OSError, UnicodeError) as e:
            raise TargetRefused(f"{target.host} does not resolve ({type(e).__name__})") from None
    if not addresses:
        raise TargetRefused(f"{target.host} does not resolve")
    for address in addresses:
        why = refused_address(address)
        if why:
            raise TargetRefused(f"{target.host} resolves to a refused address: {why}")
    return addresses


def check(url: str, allowed: frozenset[str], resolver: Resolver | None = None) -> Target:
    """The whole check, as at registration."""
    target = parse(url, allowed)
    resolve(target, resolver)
    return target
