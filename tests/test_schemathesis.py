"""Every route of the OpenAPI document under schemathesis, as a tracer, a supervisor, an administrator and a
privacy officer: no server error, and every answer fits the schema the document gives for it.

Examples are bounded (``EXAMPLES`` per operation and account) so the whole run stays well under three
minutes on a 2-core machine; the seeded world is small but has a case, contacts, tasks and links in two
districts, so ids in the generated requests often hit real records (and records out of scope).
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance
from sqlalchemy import select

from epitrace.api import create_app
from epitrace.domain.roles import Role
from epitrace.storage import audit
from epitrace.storage.accounts import add_user, create_api_token
from epitrace.storage.db import write_session
from epitrace.storage.models import Case
from tests.backends import database_url
from tests.conftest import city_database, lab_line, write_labs

pytestmark = pytest.mark.slow  # every route under schemathesis, four roles: about 90 s; run by make test-all / test-pg and CI

EXAMPLES = 12
ACCOUNTS = {"tracer": (Role.TRACER, "D1"), "supervisor": (Role.SUPERVISOR, "CITY"),
            "administrator": (Role.ADMINISTRATOR, "CITY"), "privacy": (Role.PRIVACY_OFFICER, "CITY")}
TOKENS: dict[str, str] = {}
ENVIRONMENT: dict[str, str] = {}
ENGINES: list = []


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory, request):  # type: ignore[no-untyped-def]
    folder = tmp_path_factory.mktemp("schemathesis")
    engine = city_database(database_url(folder, 'api'))
    from epitrace.feed import generate_key

    generate_key(folder / "feed.pem")
    ENVIRONMENT.update(EPITRACE_TODAY="2026-03-15", EPITRACE_FEED_KEY=str(folder / "feed.pem"))
    from epitrace.intake.labs import parse_lab_csv
    from epitrace.storage.audit import Actor
    from epitrace.storage.labs import import_lab_rows

    labs = write_labs(folder / "labs.csv", lab_line("S1", jurisdiction="D1"),
                      lab_line("S2", jurisdiction="D2", given="Bea", family="Stone", dob="1980-02-02"),
                      lab_line("S3", jurisdiction="D1", given="Cy", family="Lee", dob="1971-07-07", result="negative"))
    with write_session(engine) as session:
        import_lab_rows(session, parse_lab_csv(labs.read_bytes(), source="labs.csv"), source="labs.csv", sha256="x",
                        actor=Actor("test"))
        for name, (role, code) in ACCOUNTS.items():
            add_user(session, name, "correct horse battery staple", role=role.value, jurisdiction_code=code)
            TOKENS[name] = create_api_token(session, name, name="schemathesis")
        assert session.scalar(select(Case.id)) is not None
    app = create_app(engine)
    ENGINES.append(engine)
    request.addfinalizer(engine.dispose)
    return schemathesis.openapi.from_asgi("/openapi.json", app)


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.function_scoped_fixture])
def test_api_answers_within_its_schema(case, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    for name, value in ENVIRONMENT.items():  # set per test: the autouse clean_environ fixture clears EPITRACE_*
        monkeypatch.setenv(name, value)
    for account in ACCOUNTS:  # every generated request, as each account
        case.call_and_validate(headers={"Authorization": f"Bearer {TOKENS[account]}"},
                               checks=[not_a_server_error, response_schema_conformance, content_type_conformance])
    if case.method != "GET":  # refused or not, no write may break the audit chain
        with write_session(ENGINES[0]) as session:
            assert audit.verify(session) is None, f"audit verify fails after {case.method} {case.path}"
