"""Where webhooks may go: https URLs on public addresses (outside development).

The host is resolved when an endpoint is saved AND again at every delivery, and the POST goes to
the very address that was checked, so a DNS answer that changes in between (DNS rebinding) cannot
point a delivery at an internal service.
"""

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError

MAX_URL_LENGTH = 2000


def private_urls_allowed() -> bool:
    """Development (DEBUG) may send to loopback and private addresses, and over plain http."""
    return bool(getattr(settings, "WEBHOOK_ALLOW_PRIVATE_URLS", settings.DEBUG))


# IPv6 prefixes whose last 32 bits are an IPv4 address the packet ends up at: IPv4-compatible
# (::/96, deprecated; Python calls ::127.0.0.1 global) and NAT64's well-known prefix
# (64:ff9b::/96, RFC 6052). 6to4, IPv4-mapped and Teredo are read by ipaddress itself.
_LAST_32_BITS_ARE_IPV4 = (ipaddress.IPv6Network("::/96"), ipaddress.IPv6Network("64:ff9b::/96"))
# NAT64's local-use prefix (RFC 8215) is never public, and its IPv4 position depends on the
# operator's prefix length, so it is refused whatever it embeds.
_NEVER_PUBLIC = (ipaddress.IPv6Network("64:ff9b:1::/48"),)


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address reaches through a translation or tunnel."""
    embedded = []
    if ip.ipv4_mapped is not None:
        embedded.append(ip.ipv4_mapped)
    if ip.sixtofour is not None:
        embedded.append(ip.sixtofour)
    if ip.teredo is not None:
        embedded.extend(ip.teredo)  # (server, client)
    if any(ip in network for network in _LAST_32_BITS_ARE_IPV4):
        embedded.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return embedded


def _is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        if any(ip in network for network in _NEVER_PUBLIC):
            return False
        embedded = _embedded_ipv4(ip)
        if ip.ipv4_mapped is not None:
            # ::ffff:a.b.c.d is the IPv4 address itself (is_global is False for the range).
            return all(_is_public(str(v4)) for v4 in embedded)
        if not all(_is_public(str(v4)) for v4 in embedded):
            return False
    # is_global is False for private, loopback, link-local, reserved, shared and unspecified ranges.
    return ip.is_global and not ip.is_multicast


def resolve_host(host: str, port: int) -> list[str]:
    """The host's addresses, in the resolver's order (raises OSError when it does not resolve)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses: list[str] = []
    for _family, _type, _proto, _canonname, sockaddr in infos:
        if sockaddr[0] not in addresses:
            addresses.append(sockaddr[0])
    return addresses


def url_parts(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of an absolute http(s) URL; raises ValueError if it is not one."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("not an absolute http(s) URL")
    port = parts.port or (443 if scheme == "https" else 80)  # .port raises ValueError if bad
    return scheme, parts.hostname, port


def check_addresses(host: str, addresses: list[str]) -> None:
    """ValueError (with the reason) if an address is not public and that is not allowed."""
    if private_urls_allowed():
        return
    for address in addresses:
        if not _is_public(address):
            raise ValueError(
                f"{host} resolves to {address}, a private, loopback, link-local or reserved "
                "address: webhooks go to public addresses only."
            )


def webhook_url_validate(url: str) -> str:
    """The URL, stripped, if webhooks may be sent to it; otherwise a ValidationError on `url`."""
    url = (url or "").strip()

    def refuse(message: str):
        return ValidationError({"url": [message]})

    if not url:
        raise refuse("Enter the URL that should receive the webhooks.")
    if len(url) > MAX_URL_LENGTH:
        raise refuse(f"Use a URL of at most {MAX_URL_LENGTH} characters.")
    try:
        scheme, host, port = url_parts(url)
    except ValueError:
        raise refuse("Enter a full URL, such as https://example.com/webhooks.") from None
    if scheme != "https" and not private_urls_allowed():
        raise refuse("Use an https URL: webhooks carry your data and are sent over TLS only.")
    parts = urlsplit(url)
    if parts.username or parts.password:
        raise refuse("Put no user name or password in the URL: verify the signature instead.")
    if parts.fragment:
        raise refuse("Remove the #fragment: it is never sent to the server.")
    try:
        addresses = resolve_host(host, port)
    except (OSError, UnicodeError):
        raise refuse(f"{host} could not be resolved: check the host name.") from None
    try:
        check_addresses(host, addresses)
    except ValueError as error:
        raise refuse(str(error)) from None
    return url
