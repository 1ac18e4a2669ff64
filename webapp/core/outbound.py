"""Calls to URLs that users give (job-end webhooks; later, a bucket's endpoint): the one place that decides which
addresses the server may reach, so that a user cannot make it call the cloud metadata service, Redis on loopback or
a machine of the intranet (SSRF).

A URL is checked when it is saved (`url_check`) and again when it is called (`post`): the name is resolved, every
address must be public (or in settings.OUTBOUND_ALLOWED_NETWORKS, an installation's opt-in), and the connection goes
to an address that was checked (a name that resolves again to another address in between changes nothing), with
TLS verified against the URL's host name. Redirects are never followed; a call takes at most its timeout in all and
reads at most MAX_RESPONSE_BYTES of the answer."""

import http.client
import ipaddress
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from django.conf import settings

MAX_RESPONSE_BYTES = 64 * 1024
DEFAULT_TIMEOUT_SECONDS = 5.0
# Names that only mean something inside a network (or this machine), whatever they resolve to today.
INTERNAL_SUFFIXES = (".localhost", ".internal", ".local", ".localdomain", ".lan", ".home.arpa", ".intranet")
NAT64 = ipaddress.ip_network("64:ff9b::/96")  # an IPv4 address inside an IPv6 one, as DNS64 makes them


class OutboundRefused(ValueError):
    """The server will not call this URL; the message says why, in words for the user who gave it."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str  # with the query


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes  # at most MAX_RESPONSE_BYTES


def allowed_networks() -> list:
    """settings.OUTBOUND_ALLOWED_NETWORKS (e.g. ["10.1.0.0/16"]): intranet networks the installation opts in."""
    return [ipaddress.ip_network(net, strict=False) for net in getattr(settings, "OUTBOUND_ALLOWED_NETWORKS", [])]


def _embedded_ipv4(ip):
    """The IPv4 address an IPv6 one stands for (mapped, NAT64, 6to4), which is the one that will be reached."""
    if ip.version != 6:
        return None
    if ip.ipv4_mapped:
        return ip.ipv4_mapped
    if ip in NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip.sixtofour


def address_allowed(ip, allowed: list) -> bool:
    """Public unicast addresses; loopback, link-local (the metadata service), private, unique-local, shared,
    multicast, reserved and unspecified ones only inside an allowed network."""
    if any(ip.version == net.version and ip in net for net in allowed):
        return True
    inner = _embedded_ipv4(ip)
    if inner is not None:
        return address_allowed(inner, allowed)
    special = (ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_multicast or ip.is_reserved
               or ip.is_unspecified or (ip.version == 6 and ip.is_site_local))
    return ip.is_global and not special


def _is_internal_name(host: str) -> bool:
    return host == "localhost" or host.endswith(INTERNAL_SUFFIXES) or "." not in host


def _ip_literal(host: str):
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def target_parse(url: str) -> Target:
    """The URL's parts, or OutboundRefused for anything but a plain http(s) URL."""
    if not isinstance(url, str) or not url:
        raise OutboundRefused("The URL is empty.")
    if url != url.strip() or any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url):
        raise OutboundRefused("The URL must not contain spaces or control characters, at its ends or inside.")
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https"):
        raise OutboundRefused("The URL must start with http:// or https://.")
    if "@" in parts.netloc:
        raise OutboundRefused("The URL must not contain a user name or password (user:password@).")
    try:
        port = parts.port
    except ValueError:
        raise OutboundRefused("The URL's port is not a number from 1 to 65535.") from None
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise OutboundRefused("The URL has no host name.")
    try:  # an international name as DNS, the Host header and TLS spell it
        host = host.encode("idna").decode("ascii") if _ip_literal(host) is None else host
    except UnicodeError:
        raise OutboundRefused("The URL's host name is not a valid name.") from None
    scheme = parts.scheme.lower()
    path = quote((parts.path or "/") + (f"?{parts.query}" if parts.query else ""), safe="/?&=%:@!$'()*+,;~")
    return Target(scheme=scheme, host=host, port=port or (443 if scheme == "https" else 80), path=path)


def _resolve(target: Target) -> list:
    """Every address the name stands for now (an IP literal stands for itself); socket.gaierror if none."""
    literal = _ip_literal(target.host)
    if literal is not None:
        return [literal]
    infos = socket.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
    # the scope of a link-local IPv6 address ("fe80::1%eth0") is dropped: such an address is refused anyway
    return list(dict.fromkeys(ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos))


def _refuse(target: Target, addresses: list, allowed: list) -> None:
    """Every address must be allowed; an internal name only when all its addresses are in allowed networks."""
    refused = [str(ip) for ip in addresses if not address_allowed(ip, allowed)]
    if refused:
        raise OutboundRefused(f"{target.host} is a loopback, private, link-local or otherwise internal address "
                              f"({', '.join(refused[:3])}); the server only calls public addresses.")
    opted_in = all(any(ip.version == net.version and ip in net for net in allowed) for ip in addresses)
    if _ip_literal(target.host) is None and _is_internal_name(target.host) and not opted_in:
        raise _internal_name(target)


def _internal_name(target: Target) -> OutboundRefused:
    return OutboundRefused(f"{target.host} is an internal name; the server only calls public addresses.")


def url_check(url: str) -> str:
    """At save time: OutboundRefused for a URL the server will not call; else "" or, when the name does not
    resolve now (an installation without DNS), a warning: the URL is checked again when it is called."""
    target, allowed = target_parse(url), allowed_networks()
    try:
        addresses = _resolve(target)
    except (socket.gaierror, UnicodeError):
        if _is_internal_name(target.host):
            raise _internal_name(target) from None
        return f"{target.host} does not resolve now; it will be checked again each time it is called."
    _refuse(target, addresses, allowed)
    return ""


def target_resolve(url: str) -> tuple[Target, list]:
    """At call time: the URL and its checked addresses; OutboundRefused (or socket.gaierror) otherwise."""
    target, allowed = target_parse(url), allowed_networks()
    addresses = _resolve(target)
    _refuse(target, addresses, allowed)
    return target, addresses


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Talks to `host` (Host header, TLS name) at an address that was checked, instead of resolving it again."""

    def __init__(self, host: str, port: int, *, address: str, timeout: float):
        super().__init__(host, port, timeout=timeout)
        self.address = address

    def connect(self):
        self.sock = socket.create_connection((self.address, self.port), self.timeout)


class _PinnedHTTPSConnection(_PinnedHTTPConnection):
    default_port = 443

    def connect(self):
        super().connect()
        # certificate and host name verified against the URL's host (the system's CAs; SSL_CERT_FILE for others)
        self.sock = ssl.create_default_context().wrap_socket(self.sock, server_hostname=self.host)


def post(url: str, *, body: bytes, headers: dict, timeout: float = DEFAULT_TIMEOUT_SECONDS) -> Response:
    """POST `body` to a user-given URL under the rules above. Raises OutboundRefused, OSError (unreachable, TLS,
    TimeoutError past `timeout` in all) or http.client.HTTPException; a non-2xx answer (a redirect included, never
    followed) raises OSError too."""
    deadline = time.monotonic() + timeout
    target, addresses = target_resolve(url)
    connection_class = _PinnedHTTPSConnection if target.scheme == "https" else _PinnedHTTPConnection
    last_error: OSError = OSError(f"could not connect to {target.host}")
    for address in addresses:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        connection = connection_class(target.host, target.port, address=str(address), timeout=remaining)
        try:
            connection.connect()
        except OSError as exc:
            last_error = exc
            connection.close()
            continue
        return _exchange(connection, target, body, headers, deadline)
    if time.monotonic() >= deadline:
        raise TimeoutError(f"{target.host} did not answer within {timeout:g} s")
    raise last_error


def _exchange(connection, target: Target, body: bytes, headers: dict, deadline: float) -> Response:
    """Send, then read the status and at most MAX_RESPONSE_BYTES; a server that drips its answer is cut off at
    the deadline (socket timeouts bound each wait, the watchdog the whole)."""
    cut_off = threading.Event()
    watchdog = threading.Timer(max(deadline - time.monotonic(), 0), _cut_off, args=(connection, cut_off))
    watchdog.daemon = True
    watchdog.start()
    try:
        connection.request("POST", target.path, body=body, headers=headers)
        response = connection.getresponse()
        data = response.read(MAX_RESPONSE_BYTES)
    except (OSError, http.client.HTTPException):
        if cut_off.is_set() or time.monotonic() >= deadline:
            raise TimeoutError(f"{target.host} took longer than allowed") from None
        raise
    finally:
        watchdog.cancel()
        connection.close()
    if cut_off.is_set():  # a cut connection reads as an early end: the answer is not to be trusted
        raise TimeoutError(f"{target.host} took longer than allowed")
    if not 200 <= response.status < 300:
        kind = " (redirects are not followed)" if 300 <= response.status < 400 else ""
        raise OSError(f"{target.host} answered {response.status}{kind}")
    return Response(status=response.status, body=data)


def _cut_off(connection, cut_off: threading.Event) -> None:
    cut_off.set()
    sock = connection.sock
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
