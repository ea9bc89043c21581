"""Where outgoing HTTP may go, and the HTTP client adapters share.

Tenants type webhook and gateway URLs, so a URL could aim at the server's own network
(loopback, 10.x, the cloud metadata address). Unless the deployment allows private
targets (`LAOKE_OUTBOUND_PRIVATE_NETWORKS`, allowed outside production), such URLs are
refused when saved and again when sent (the name is resolved, every address checked)."""

from __future__ import annotations

import ipaddress
import socket
import time
from urllib.parse import urlsplit

import httpx

from laoke.errors import N_, Invalid

USER_AGENT = "laoke-messaging/1"
_RESOLVED: dict[str, tuple[float, bool]] = {}
_CACHE_SECONDS = 60.0


def check_url_syntax(url: str, field: str = "url") -> str:
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or len(url) > 2000:
        raise Invalid(N_("Enter a full http:// or https:// address."), field=field)
    if parts.username or parts.password:
        raise Invalid(N_("Put credentials in the secret fields, not in the address."), field=field)
    return url


def _is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    return ip.is_global and not ip.is_multicast


def host_is_public(host: str) -> bool:
    """Every address the host resolves to is a public one (cached for a minute)."""
    cached = _RESOLVED.get(host)
    if cached and cached[0] > time.monotonic():
        return cached[1]
    try:
        public = _is_public(host)
    except ValueError:
        try:
            infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
        except OSError:
            return True  # unresolvable: the request itself will fail transiently
        public = bool(infos) and all(_is_public(str(info[4][0])) for info in infos)
    _RESOLVED[host] = (time.monotonic() + _CACHE_SECONDS, public)
    return public


def check_target(url: str, allow_private: bool, field: str = "url") -> str:
    url = check_url_syntax(url, field)
    if not allow_private and not host_is_public(urlsplit(url).hostname or ""):
        raise Invalid(N_("This address points into a private network."), field=field)
    return url


def target_allowed(url: str, allow_private: bool) -> bool:
    return allow_private or host_is_public(urlsplit(url).hostname or "")


def http_client(timeout: float) -> httpx.Client:
    return httpx.Client(
        timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
        follow_redirects=False,
        headers={"User-Agent": USER_AGENT},
    )


def retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after", "")
    return float(value) if value.isdigit() else None


def http_outcome_error(response: httpx.Response) -> str:
    return f"HTTP {response.status_code}: {response.text[:200]}"
