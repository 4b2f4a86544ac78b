"""How much of a request the service reads: every body is capped, and counted as it arrives.

:class:`BodyLimit` is a pure ASGI middleware, inside ``ResponseGuard`` and outside routing,
authentication and every parser. A body whose ``Content-Length`` is over the cap is refused with
413 before a byte of it is read; a body without one (chunked) is counted chunk by chunk and
refused as soon as it passes the cap, so nothing over the cap is ever read whole, whoever sends
it. The cap is ``EPITRACE_MAX_REQUEST_BYTES`` (2 MiB) for every request and
``EPITRACE_MAX_UPLOAD_BYTES`` (64 MiB) for the file uploads in ``UPLOAD_ROUTES`` (issue 10, point 4).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from epitrace.errors import EpitraceError, InputError, PayloadTooLarge
from epitrace.service.auth import SESSION_COOKIE
from epitrace.service.errors import error_response
from epitrace.settings import Settings

UPLOAD_ROUTES = frozenset({("POST", "/api/labs"), ("POST", "/api/labs/rows"), ("POST", "/api/share"), ("POST", "/share")})
"""The routes that take files (lab results as CSV or as JSON rows, a shared location history): they
get the upload cap. ``tests/test_input_limits.py`` checks that every route reading a file is listed."""

STAFF_UPLOADS = frozenset({("POST", "/api/labs"), ("POST", "/api/labs/rows")})
"""Uploads only a signed-in caller may make: a request carrying no credential at all gets the small
cap there, so an anonymous client cannot make the server read 64 MiB before its 401. (The share
upload is anonymous by design; it checks its one-time code before reading the file.)"""


def _has_credential(scope: Scope) -> bool:
    """Whether the request carries a Bearer token or a session cookie (valid or not: checking it needs
    the database, which the routes do)."""
    for key, value in scope.get("headers", []):
        if key.lower() == b"authorization" or (key.lower() == b"cookie" and SESSION_COOKIE.encode() in value):
            return True
    return False


def _size(n: int) -> str:
    mib = n / (1024 * 1024)
    return f"{n:,} bytes ({mib:g} MiB)" if mib >= 1 and mib == int(mib) else f"{n:,} bytes"


def too_large(limit: int, *, upload: bool, declared: int | None = None) -> PayloadTooLarge:
    """The 413 for a body over ``limit``, naming the limit and the setting that raises it."""
    setting = "EPITRACE_MAX_UPLOAD_BYTES" if upload else "EPITRACE_MAX_REQUEST_BYTES"
    size = f"is {_size(declared)}" if declared is not None else "is larger"
    fix = "split the file into smaller files" if upload else "send less in one request"
    reason = f"the request body {size}; at most {_size(limit)} are read here: {fix}, or ask the administrator to raise {setting}"
    return PayloadTooLarge(reason, errors=[{"field": "body", "reason": reason}])


class BodyLimit:
    """Refuse request bodies over the cap with 413 in the one error shape, before they are read whole."""

    def __init__(self, app: ASGIApp, *, max_request_bytes: int | None = None, max_upload_bytes: int | None = None) -> None:
        config = Settings.from_env()
        self.app = app
        self.max_request = max_request_bytes or config.max_request_bytes
        self.max_upload = max_upload_bytes or config.max_upload_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        route = (scope["method"], scope["path"])
        upload = route in UPLOAD_ROUTES and (route not in STAFF_UPLOADS or _has_credential(scope))
        limit = self.max_upload if upload else self.max_request
        declared = next((v.decode("latin-1").strip() for k, v in scope.get("headers", []) if k.lower() == b"content-length"), None)
        if declared is not None:
            if not (declared.isascii() and declared.isdigit()):
                await self._refuse(scope, receive, send, InputError(
                    f"the Content-Length header {declared[:40]!r} is not a number of bytes: send the body's length"))
                return
            if int(declared) > limit:
                await self._refuse(scope, receive, send, too_large(limit, upload=upload, declared=int(declared)))
                return
        received = 0
        over = started = False

        async def counted_receive() -> Message:
            nonlocal received, over
            if over:
                raise too_large(limit, upload=upload)
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    over = True
                    raise too_large(limit, upload=upload)
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if over and not started:
                return  # the app's answer to a body it could not read: the 413 below replaces it
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted_receive, guarded_send)
        except Exception:
            if not over or started:
                raise
        if over and not started:
            await self._refuse(scope, receive, send, too_large(limit, upload=upload))

    @staticmethod
    async def _refuse(scope: Scope, receive: Receive, send: Send, exc: EpitraceError) -> None:
        response = error_response(Request(scope), exc)
        await response(scope, receive, send)
