"""The HTTP service: a JSON API under /api and the staff web app, one FastAPI application."""

from epitrace.api._app import create_app

__all__ = ["create_app"]
