"""The application factory."""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy import Engine

from epitrace import __version__
from epitrace.api import _errors, routes_admin, routes_investigation
from epitrace.api._auth import LoginLimiter
from epitrace.storage.db import make_engine, require_initialised


def create_app(engine: Engine | None = None) -> FastAPI:
    """The API and web app on ``engine`` (default: the configured database)."""
    engine = engine or make_engine()
    require_initialised(engine)
    app = FastAPI(
        title="epitrace",
        version=__version__,
        description="Outbreak investigation for public-health agencies. Every read and write of personal data is "
                    "audited; every record is scoped to the caller's jurisdiction.",
    )
    app.state.engine = engine
    app.state.login_limiter = LoginLimiter()
    _errors.install(app)
    app.include_router(routes_investigation.router)
    app.include_router(routes_admin.router)
    app.include_router(routes_admin.feed_router)
    from epitrace.web.pages import router as pages

    app.include_router(pages)
    return app
