"""One shape for every error: ``{"ok": false, "error", "errors", "status"}``.

Whether an error becomes a JSON body or a page is decided by the route that failed: routes of
the pages router (:class:`PageRoute`) answer with the error page, every other route with JSON. A
request that matched no route gets a page only when it asks for HTML.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from epitrace.errors import EpitraceError, ErrorItem, StaleRecord, Unauthorized

log = logging.getLogger("epitrace.errors")


class ErrorItemPublic(BaseModel):
    field: str = Field(description="The field, column or request part the problem is in.")
    reason: str = Field(description="What is wrong and how to fix it.")
    value: str | None = Field(None, description="The value given, when it helps to see it.")
    row: int | None = Field(None, description="Line number in an uploaded file (the header is line 1).")


class ErrorBody(BaseModel):
    ok: bool = False
    error: str
    errors: list[ErrorItemPublic]
    status: int


class StaleBody(ErrorBody):
    """The one shape, plus the record as it is now: the answer to a write over a later change."""

    current: dict[str, Any] | None = Field(None, description=(
        "A write that named a version the record has moved on from: the record as its GET shows it now "
        "(with its new `version`, also the ETag header). Check it and send the change again."))


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": text}
    for status, text in ((400, "A value is wrong: the message names it and the fix."), (401, "Not signed in."),
                         (403, "The role may not do this."), (404, "No such record in your jurisdiction."),
                         (409, "Contradicts what is stored."),
                         (413, "The request body or file is over the size limit."), (422, "The request or file failed validation."),
                         (429, "Too many attempts."), (500, "An error in epitrace (logged without personal data)."),
                         (503, "Not set up on this server, or the database is busy or a query took too long (Retry-After)."))
}
"""Documented on every route, so the OpenAPI document says what an error looks like."""

STALE_RESPONSES: dict[int | str, dict[str, Any]] = {
    409: {"model": StaleBody, "description": "Contradicts what is stored: with `current` when the record changed "
                                             "since the version sent (If-Match or `version`)."},
}
"""The 409 of a write that takes a version (issue 11, point 3), documented on its route."""


class PageRoute(APIRoute):
    """A route of the staff or resident pages: its errors are rendered as the error page."""


def error_body(message: str, status: int, errors: list[Any] | None = None) -> dict[str, Any]:
    return {"ok": False, "error": message, "errors": [ErrorItem.of(e).as_dict() for e in errors or []], "status": status}


TITLES = {400: "That did not work", 401: "Please sign in", 403: "Not allowed", 404: "Not found", 405: "Not allowed",
          409: "Conflict", 413: "Too large", 422: "Please correct the input", 429: "Too many attempts",
          500: "Something went wrong", 503: "Not available"}


def _is_page(request: Request) -> bool:
    route = request.scope.get("route")
    if route is not None:
        return isinstance(route, PageRoute)
    return "text/html" in request.headers.get("accept", "")


def _respond(request: Request, status: int, message: str, items: list[ErrorItem] | None = None,
             headers: dict[str, str] | None = None, extra: dict[str, Any] | None = None) -> Response:
    if _is_page(request):
        if status == 401:
            from urllib.parse import quote

            return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)
        render: PageRenderer = request.app.state.render_error_page
        response: Response = render(request, status, TITLES.get(status, "Error"), message)
    else:
        response = JSONResponse(error_body(message, status, items) | (extra or {}), status_code=status)
    response.headers.update(headers or {})
    return response


def _stack_without_data(exc: BaseException) -> str:
    """The traceback's frames and the exception's type, never its message: messages of database
    and parsing errors can quote the personal data that caused them."""
    frames = traceback.extract_tb(exc.__traceback__)
    lines = [f'  File "{f.filename}", line {f.lineno}, in {f.name}' for f in frames]
    return "\n".join([f"{type(exc).__module__}.{type(exc).__qualname__} (message withheld)", *lines])


def error_response(request: Request, exc: EpitraceError) -> Response:
    """The one-shape answer to ``exc``: JSON, or the error page for a browser. The exception handler
    answers with it, and so does a middleware, where no handler runs."""
    headers = dict(exc.headers)
    if isinstance(exc, Unauthorized) and not _is_page(request):
        headers.setdefault("WWW-Authenticate", "Bearer")
    extra = {"current": exc.current} if isinstance(exc, StaleRecord) and exc.current is not None else None
    return _respond(request, exc.status, exc.message, exc.items(), headers, extra)


PageRenderer = Callable[[Request, int, str, str], Response]
"""(request, status, title, message) -> the error page; the pages give theirs to ``install``."""


def install(app: FastAPI, *, render_error_page: PageRenderer) -> None:
    app.state.render_error_page = render_error_page

    @app.exception_handler(EpitraceError)
    async def epitrace_error(request: Request, exc: EpitraceError) -> Response:
        return error_response(request, exc)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        items = [ErrorItem(field=".".join(str(p) for p in e["loc"]),
                           reason=_json_invalid(e) if e.get("type") == "json_invalid" else e["msg"]) for e in exc.errors()]
        first = items[0] if items else ErrorItem(field="request", reason="invalid")
        return _respond(request, 422, f"{first.field}: {first.reason}", items)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        # Only the framework raises these (no route, wrong method, a body it cannot parse): epitrace
        # raises EpitraceError.
        message = _unparsable_body(exc.__cause__) if exc.status_code == 400 else None
        return _respond(request, exc.status_code, message or str(exc.detail), None, getattr(exc, "headers", None))

    app.exception_handler(Exception)(unexpected)


def _json_invalid(error: dict[str, Any]) -> str:
    where = error["loc"][-1]
    detail = (error.get("ctx") or {}).get("error", "")
    return f"the body is not valid JSON at character {where} ({detail}): send a JSON object"


def _unparsable_body(cause: BaseException | None) -> str | None:
    """Why FastAPI could not parse a request body, in words (it says only "error parsing the body")."""
    if isinstance(cause, RecursionError):
        return "the body nests JSON too deeply to read: send a flat JSON object"
    if isinstance(cause, UnicodeDecodeError):
        return f"the body is not UTF-8 text (byte 0x{cause.object[cause.start:cause.start + 1].hex()} at offset {cause.start}): send UTF-8 JSON"
    if isinstance(cause, ValueError) and "digits" in str(cause):
        return "the body has a number with more than 4,300 digits: send ids and counts as ordinary numbers"
    if cause is not None:
        return "the body cannot be parsed: send JSON (Content-Type: application/json) or a form as documented"
    return None


async def unexpected(request: Request, exc: Exception) -> Response:
    """A 500 in the one shape; the log gets the stack, never the message."""
    route = request.scope.get("route")
    log.error("unexpected error in %s %s\n%s", request.method, getattr(route, "path", "(no route)"),
              _stack_without_data(exc))
    return _respond(request, 500, "an unexpected error happened in epitrace; it has been logged (without personal "
                                  "data). Try again, and tell your administrator if it happens again")
