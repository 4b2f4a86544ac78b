"""Imports point inward (docs/architecture.md): the import-linter contracts in pyproject.toml hold,
and no module outside storage writes SQL."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import epitrace

PACKAGE = Path(epitrace.__file__).parent
# Outside storage, a module may name a Session or an Engine (to pass one on), never build a query.
SQLALCHEMY_TYPES = {"Session", "Engine"}


def test_import_contracts_hold() -> None:
    linter = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert linter, "import-linter is a test dependency (requirements.lock)"
    result = subprocess.run([linter], cwd=PACKAGE.parents[1], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout[-4000:]


def test_only_storage_writes_sql() -> None:
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE)
        if relative.parts[0] == "storage":
            continue
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sqlalchemy"):
                names = {alias.name for alias in node.names}
                if not names <= SQLALCHEMY_TYPES:
                    offenders.append(f"{relative}:{node.lineno} imports {sorted(names - SQLALCHEMY_TYPES)}")
            elif isinstance(node, ast.Import) and any(a.name.startswith("sqlalchemy") for a in node.names):
                offenders.append(f"{relative}:{node.lineno} imports sqlalchemy")
    assert not offenders, "queries belong in storage:\n" + "\n".join(offenders)


# Routes that stream a body and so must be coroutines; their database calls are short (issue 11: to be
# moved to the thread pool).
STREAMING_ROUTES = {"share_upload", "share_submit"}


def test_no_dependency_that_uses_the_database_runs_on_the_event_loop() -> None:
    """FastAPI runs ``async def`` dependencies on the event loop and plain ones in its thread pool: one
    that waits for a database connection or the write lock on the loop stalls every request (issue 11)."""
    import inspect

    from fastapi.routing import APIRoute

    from epitrace.api import create_app
    from epitrace.service.auth import get_db, get_read_db
    from epitrace.storage.db import make_engine
    from epitrace.storage.migrate import upgrade

    sessions = {get_db, get_read_db}
    offenders = set()

    def walk(dependant) -> None:  # type: ignore[no-untyped-def]
        for dependency in dependant.dependencies:
            walk(dependency)
        if any(d.call in sessions for d in dependant.dependencies) and inspect.iscoroutinefunction(dependant.call):
            offenders.add(dependant.call.__name__)

    engine = make_engine("sqlite://")
    upgrade(engine)
    for route in create_app(engine).routes:
        if isinstance(route, APIRoute):
            walk(route.dependant)
    engine.dispose()
    assert offenders - STREAMING_ROUTES == set()
