"""The Host header check: the page answers only to the names it is served under.

A web page can make its visitor's browser talk to a local ``dataver ui`` by DNS rebinding: the
attacker's name (``evil.example``) first resolves to the attacker's server, which serves a
script, then to 127.0.0.1; the script's requests now reach the local server, and the browser
hands the answers to the script because the origin (``http://evil.example:8765``) did not
change. The requests still carry ``Host: evil.example``, so refusing names the server was
not told about closes the hole, whatever the browser.

Addresses are always accepted: a browser sends an address as Host only when it connected to
that address, so an address can never be the attacker's name (and a server bound to
``0.0.0.0`` is reached by its addresses).
"""

from __future__ import annotations

import ipaddress
import json
import re
import socket
from dataclasses import dataclass
from typing import TYPE_CHECKING

from dataver.errors import ValidationError

if TYPE_CHECKING:
    from collections.abc import Iterable

    from starlette.types import ASGIApp, Receive, Scope, Send

LOOPBACK = ("localhost", "127.0.0.1", "::1")
"""Names every app answers to: this machine's own."""
ANY = "*"
"""An allowed name that turns the check off (an app mounted behind a server that owns its host)."""
WILDCARD_BINDS = frozenset({"", "0.0.0.0", "::"})  # noqa: S104 - names, not a bind
_LABEL = r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?"
_NAME = re.compile(rf"^{_LABEL}(?:\.{_LABEL})*$")
_PORT = re.compile(r"^[0-9]{1,5}$")
_HEADERS = [
    (b"content-type", b"application/json"),
    (b"x-content-type-options", b"nosniff"),
    (b"cache-control", b"no-store"),
]


def host_of(header: str) -> str | None:
    """The host of a ``Host`` header, lower-cased, without its port; None when malformed.

    An IPv6 address must be bracketed (``[::1]:8765``), as HTTP requires: a bare ``::1`` could
    not be told from a name and a port.
    """
    value = header.strip().lower()
    if value.startswith("["):
        end = value.find("]")
        host, rest = value[1:end], value[end + 1 :]
        if end < 0 or not _is_address(host) or ":" not in host:
            return None
    else:
        host, colon, port = value.partition(":")
        rest = colon + port
    if rest and not (rest.startswith(":") and _PORT.match(rest[1:])):
        return None
    return host if host and (_is_address(host) or _NAME.match(host)) else None


def served_names(bind: str) -> tuple[str, ...]:
    """The names a server listening on ``bind`` is reached by, beyond :data:`LOOPBACK`.

    Listening on every interface (``0.0.0.0``, ``::``), other machines reach it by this
    machine's host name (or an address, always accepted); a longer DNS name is not guessed
    (a lookup could hang a start-up on a closed network): name it with ``--allowed-host``.
    """
    if bind.strip() in WILDCARD_BINDS:
        return (socket.gethostname().lower(),)
    return (bind.strip().lower(),)


@dataclass(frozen=True)
class HostPolicy:
    """Which ``Host`` headers an app answers.

    Attributes:
        names: Exact host names and addresses (lower case, IPv6 without brackets).
        suffixes: ``.example.org`` for an allowed ``*.example.org`` (names below it).
        any: ``*`` was allowed: every host is answered.
    """

    names: frozenset[str]
    suffixes: tuple[str, ...] = ()
    any: bool = False

    @classmethod
    def of(cls, allowed: Iterable[str]) -> HostPolicy:
        """A policy from host names, addresses, ``*.domain`` patterns or ``*``.

        Raises:
            ValidationError: A name is malformed (a URL, a port, spaces, a bad pattern).
        """
        names: set[str] = set()
        suffixes: list[str] = []
        for raw in allowed:
            name = raw.strip().lower()
            if name == ANY:
                return cls(frozenset(), (), any=True)
            if name.startswith("*.") and _NAME.match(name[2:]):
                suffixes.append(name[1:])
                continue
            bare = name[1:-1] if name.startswith("[") and name.endswith("]") else name
            if not (_is_address(bare) or _NAME.match(bare)):
                raise ValidationError(
                    f"invalid allowed host {raw!r}: a host name or address without scheme "
                    "or port (data.example.com, 10.0.0.5), *.example.com, or * for any",
                    value=raw,
                )
            names.add(str(ipaddress.ip_address(bare)) if _is_address(bare) else bare)
        return cls(frozenset(names), tuple(sorted(set(suffixes))))

    def allows(self, header: str | None) -> bool:
        """Whether a request with this ``Host`` header (None: none) is answered."""
        if self.any:
            return True
        host = None if header is None else host_of(header)
        if host is None:
            return False
        if _is_address(host):
            return True
        return host in self.names or host.endswith(self.suffixes)


class HostCheck:
    """ASGI middleware answering 400 to a request whose ``Host`` the policy refuses.

    Pure ASGI rather than Starlette's ``TrustedHostMiddleware``: that one cuts the header at
    the first colon, so it can never accept a bracketed IPv6 host such as ``[::1]:8765``.
    """

    def __init__(self, app: ASGIApp, policy: HostPolicy) -> None:
        self.app = app
        self.policy = policy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass allowed requests on; answer the others with a JSON error."""
        if scope["type"] not in ("http", "websocket") or self.policy.any:
            await self.app(scope, receive, send)
            return
        values = [v for k, v in scope["headers"] if k == b"host"]
        # NOTE: two Host headers are refused: which one a proxy or the browser meant is unknown.
        header = values[0].decode("latin-1") if len(values) == 1 else None
        if self.policy.allows(header):
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        body = json.dumps(
            {
                "error": "HostNotAllowed",
                "detail": (
                    f"this server does not answer to the host {header!r}: name it with "
                    "`dataver ui --allowed-host NAME` or DATAVER_UI_ALLOWED_HOSTS "
                    "(a guard against DNS rebinding)"
                ),
            }
        ).encode()
        headers = [*_HEADERS, (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 400, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True
