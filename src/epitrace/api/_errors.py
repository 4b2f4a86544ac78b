"""One shape for every error: ``{"ok": false, "error", "errors", "status"}``."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from epitrace.errors import EpitraceError


def error_body(message: str, status: int, errors: list[Any] | None = None) -> dict[str, Any]:
    return {"ok": False, "error": message, "errors": errors or [], "status": status}


def _plain(error: Any) -> Any:
    return {k: v for k, v in error.__dict__.items()} if hasattr(error, "__dict__") else error


TITLES = {400: "That did not work", 401: "Please sign in", 403: "Not allowed", 404: "Not found", 409: "Conflict",
          422: "Please correct the input", 429: "Too many attempts"}


def _is_page(request: Request) -> bool:
    return not request.url.path.startswith("/api") and request.url.path not in ("/openapi.json", "/docs")


def _page(request: Request, status: int, message: str, headers=None):  # type: ignore[no-untyped-def]
    from epitrace.web.pages import templates

    if status == 303 and headers:
        from fastapi.responses import RedirectResponse

        return RedirectResponse(headers["Location"], status_code=303)
    return templates.TemplateResponse(request, "error.html", {"account": None, "status": status, "message": message,
                                                               "title": TITLES.get(status, "Error")}, status_code=status)


def install(app: FastAPI) -> None:
    @app.exception_handler(EpitraceError)
    async def epitrace_error(request: Request, exc: EpitraceError):  # type: ignore[no-untyped-def]
        if _is_page(request):
            return _page(request, exc.status, exc.message)
        return JSONResponse(error_body(exc.message, exc.status, [_plain(e) for e in exc.errors]), status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"location": ".".join(str(p) for p in e["loc"]), "message": e["msg"]} for e in exc.errors()]
        first = errors[0] if errors else {"location": "request", "message": "invalid"}
        return JSONResponse(error_body(f"{first['location']}: {first['message']}", 422, errors), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):  # type: ignore[no-untyped-def]
        if _is_page(request):
            return _page(request, exc.status_code, str(exc.detail), getattr(exc, "headers", None))
        return JSONResponse(error_body(str(exc.detail), exc.status_code), status_code=exc.status_code,
                            headers=getattr(exc, "headers", None))
