"""The JSON API under /api (thin routes by resource, pydantic schemas) and the app factory that adds the pages."""

from epitrace.api._app import create_app

__all__ = ["create_app"]
