"""The headers every answer carries, decided in one place (issue 10).

- ``Content-Security-Policy``: pages (any ``text/html`` answer, error pages included) get
  :data:`PAGE_POLICY`: scripts, styles and connections from this server only, no inline script or style,
  no plugins, no ``<base>``, forms post here only, and no framing. Everything else (JSON, static files,
  the feed) gets :data:`DATA_POLICY`, which lets nothing load. A few paths tighten or relax that,
  each with its reason, in :data:`POLICY_BY_PATH`. A policy set by a route is replaced: there is no
  second place that decides.
- ``X-Content-Type-Options: nosniff``, ``Referrer-Policy: no-referrer`` (a URL can hold a case id or
  a search for a name) and ``X-Frame-Options: DENY`` (``frame-ancestors`` for browsers that predate it).
- ``Cache-Control: no-store`` on every answer that may hold personal data, so Back after sign-out shows
  nothing; only static files and the public feed may be kept (:data:`CACHEABLE_PREFIXES`).
"""

from __future__ import annotations

# Only these may be kept by a browser or proxy: nothing personal is in them.
CACHEABLE_PREFIXES = ("/static", "/feed/")


def _policy(**directives: str) -> str:
    return "; ".join(f"{name.replace('_', '-')} {value}" for name, value in directives.items())


_PAGE = {"default_src": "'self'", "script_src": "'self'", "style_src": "'self'", "img_src": "'self' data:",
         "connect_src": "'self'", "object_src": "'none'", "base_uri": "'none'", "form_action": "'self'",
         "frame_ancestors": "'none'"}

PAGE_POLICY = _policy(**_PAGE)
"""Every page: no inline script or style (the templates' styles are in /static/epitrace.css, their
scripts in /static/*.js), images from here or ``data:`` (the dashboard's charts)."""

DATA_POLICY = _policy(default_src="'none'", frame_ancestors="'none'")
"""JSON, scripts, styles and the feed: nothing in them may load anything, nor be framed."""

# Swagger UI (fastapi-offline) starts from an inline script; ReDoc has an inline <style>, injects more, and
# searches in a blob: worker. They show the OpenAPI document only, never personal data, and each gets only
# the one relaxation it needs; every file they load is still from this server.
_SWAGGER_POLICY = _policy(**_PAGE | {"script_src": "'self' 'unsafe-inline'"})
_REDOC_POLICY = _policy(**_PAGE | {"style_src": "'self' 'unsafe-inline'", "worker_src": "'self' blob:"})

POLICY_BY_PATH = {
    # The check-in page keeps the visits in the browser: it may fetch nothing and post nowhere.
    "/checkin": _policy(**_PAGE | {"connect_src": "'none'", "form_action": "'none'"}),
    "/docs": _SWAGGER_POLICY,
    "/docs/oauth2-redirect": _SWAGGER_POLICY,
    "/redoc": _REDOC_POLICY,
}

ALWAYS = ((b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer"),
          (b"x-frame-options", b"DENY"))

_OURS = {b"content-security-policy"} | {name for name, _ in ALWAYS}


def policy_for(path: str, content_type: str) -> str:
    """The Content-Security-Policy of the answer to ``path`` with ``content_type``."""
    if path in POLICY_BY_PATH:
        return POLICY_BY_PATH[path]
    return PAGE_POLICY if content_type.split(";")[0].strip().lower() == "text/html" else DATA_POLICY


def secured(path: str, headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """``headers`` (raw ASGI pairs) of the answer to ``path`` with this module's headers set."""
    content_type = next((v.decode("latin-1") for k, v in headers if k.lower() == b"content-type"), "")
    kept = [(k, v) for k, v in headers if k.lower() not in _OURS]
    kept.append((b"content-security-policy", policy_for(path, content_type).encode()))
    kept.extend(ALWAYS)
    if not path.startswith(CACHEABLE_PREFIXES) and not any(k.lower() == b"cache-control" for k, _ in kept):
        kept.append((b"cache-control", b"no-store"))
    return kept
