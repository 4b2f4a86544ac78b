"""The application factory."""

from __future__ import annotations

from functools import cache

from fastapi import APIRouter, FastAPI
from fastapi_offline import FastAPIOffline
from sqlalchemy import Engine
from starlette.requests import Request
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from epitrace import __version__
from epitrace.api import routes_admin, routes_investigation
from epitrace.service import errors as _errors
from epitrace.service.headers import secured
from epitrace.service.in_flight import RequestsInFlight
from epitrace.service.limits import BodyLimit
from epitrace.settings import Settings
from epitrace.storage.db import make_engine, require_initialised


class ResponseGuard:
    """Outermost inside the framework: the headers of ``service.headers`` on every answer (a
    Content-Security-Policy, nosniff, no referrer, no framing, and ``Cache-Control: no-store`` on
    anything that may hold personal data, so Back after sign-out shows nothing), and a JSON or page
    500 in the one error shape for anything unexpected, logged without its message. Catching here,
    not in Starlette's server-error middleware, keeps the exception (and any personal data in its
    message) out of the server's own log."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message = {**message, "headers": secured(scope["path"], list(message.get("headers", [])))}
            await send(message)

        try:
            await self.app(scope, receive, guarded_send)
        except Exception as exc:  # noqa: BLE001 - the last line of defence: every error gets the one shape
            if started:
                raise
            response = await _errors.unexpected(Request(scope), exc)
            await response(scope, receive, guarded_send)


def create_app(engine: Engine | None = None) -> FastAPI:
    """The API and web app on ``engine`` (default: the configured database)."""
    engine = engine or make_engine()
    require_initialised(engine)
    # Swagger UI and ReDoc come from the installed package: the docs work offline and make no
    # request to a third party.
    app = FastAPIOffline(
        title="epitrace",
        version=__version__,
        description="Outbreak investigation for public-health agencies. Every read and write of personal data is "
                    "audited; every record is scoped to the caller's jurisdiction.",
        static_url="/static/docs",
        responses=_errors.ERROR_RESPONSES,
    )
    app.state.engine = engine
    app.state.statement_timeout_ms = Settings.from_env().db_statement_timeout_ms
    from epitrace.web.pages import render_error_page

    _errors.install(app, render_error_page=render_error_page)
    app.add_middleware(BodyLimit)  # inside ResponseGuard: its 413 gets the guard's headers
    app.add_middleware(RequestsInFlight)  # outside BodyLimit: a waiting request has read nothing yet
    app.add_middleware(ResponseGuard)
    app.router.routes.extend(_routes())
    return app


@cache
def _routes() -> tuple[BaseRoute, ...]:
    """Every route of the API and the pages, built once per process. Building a route analyses its
    dependencies and response model (about 4 ms each, a third of a second for all): an app per test, or
    per worker, need not pay that again. The routes hold no state of an app; each request finds its app,
    and the app's engine, in its scope."""
    from epitrace.web.pages import router as pages

    everything = APIRouter(responses=_errors.ERROR_RESPONSES)
    for router in (routes_investigation.router, routes_admin.router, routes_admin.feed_router, pages):
        everything.include_router(router)
    return tuple(everything.routes)
