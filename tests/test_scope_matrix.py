"""Scope at every edge (issue 10, points 1 and 8): every API route that takes a record id or a
jurisdiction, asked by every role of one district for the other district's records.

The promise attacked, cell by cell (route × role × direction):
- the answer for the other district's record is the answer for a record that does not exist
  (status and body, but for the id or code asked for);
- no answer holds any of the other district's probe values (names, birth dates, phones,
  addresses, national ids, specimen ids): conflict messages, cross-references (merge
  candidates, contacts, links) and the privacy officer's views included;
- each refusal is one ``denied`` entry in the audit chain (naming the person concerned, so
  their trail shows the attempt), committed although the request failed; a missing record
  or a refused role writes none; the chain verifies after the whole matrix.

The route table is checked against the app's: a new API route fails
``test_every_api_route_is_in_the_matrix_or_listed_as_not_record_scoped`` until it is classified.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from epitrace.api import create_app
from epitrace.domain.identity import Identity
from epitrace.domain.roles import Permission, Role, can
from epitrace.intake.labs import import_lab_file, read_lab_csv
from epitrace.service.errors import PageRoute
from epitrace.storage import audit
from epitrace.storage import workbench as wb
from epitrace.storage.accounts import add_user, create_api_token
from epitrace.storage.audit import Actor
from epitrace.storage.db import write_session
from epitrace.storage.investigation import PlaceSpec, VisitSpec
from epitrace.storage.models import AuditEvent, Case, LabResult, MergeCandidate, Person, Task, TransmissionLink
from epitrace.storage.publication import propose_case_windows
from epitrace.storage.scope import EVERYWHERE
from tests.backends import database_url
from tests.conftest import LAB_HEADER, city_database

PASSWORD = "correct horse battery staple"
ROLES = [Role.TRACER, Role.SUPERVISOR, Role.EPIDEMIOLOGIST, Role.ADMINISTRATOR, Role.PRIVACY_OFFICER]
DIRECTIONS = [("D1", "D2"), ("D2", "D1")]  # (the asking account's district, the records' district)
SETUP = Actor("test setup")
MISSING_ID = 999_999
SHARED_BIRTH_DATE = "1980-02-02"  # the two near-duplicates' (a merge candidate needs the same birth date)

# Three people per district: A a case, B A's household contact who became a case (a link A -> B),
# M a near-duplicate of the other district's M (a merge candidate across the districts).
PEOPLE = {
    "D1": {
        "A": ("Ana", "Northcott", "1990-04-02", "+15550101", "N-D1-0001", "11 Northern Road", "SPN-0001"),
        "B": ("Bo", "Northway", "1985-06-01", "+15550102", "N-D1-0002", "12 Northern Road", "SPN-0002"),
        "M": ("Dana", "Quilton", SHARED_BIRTH_DATE, "+15550103", "N-D1-0003", "13 Northern Road", "SPN-0003"),
    },
    "D2": {
        "A": ("Bea", "Southgate", "1970-01-03", "+15550201", "S-D2-0001", "21 Southern Street", "SPS-0001"),
        "B": ("Cyd", "Southam", "1975-07-07", "+15550202", "S-D2-0002", "22 Southern Street", "SPS-0002"),
        "M": ("Dana", "Quillon", SHARED_BIRTH_DATE, "+15550203", "S-D2-0003", "23 Southern Street", "SPS-0003"),
    },
}


def probe_values(district: str) -> list[str]:
    """What an account of the other district must never read about ``district``'s people."""
    values = []
    for given, family, born, phone, national_id, address, specimen in PEOPLE[district].values():
        values += [f"{given} {family}", family, phone[2:], national_id, address, specimen]
        if born != SHARED_BIRTH_DATE:
            values.append(born)
    return values


def username(role: Role, district: str) -> str:
    return f"{role.value.replace(' ', '-')}-{district}"


def lab_row(district: str, who: str, *, code: str | None = None, collected: str = "2026-03-10",
            resulted: str = "2026-03-11") -> dict[str, str]:
    given, family, born, phone, national_id, address, specimen = PEOPLE[district][who]
    return {"lab_id": "LAB-A", "specimen_id": specimen, "collected_on": collected, "resulted_on": resulted,
            "result": "positive", "test_type": "PCR", "given_name": given, "family_name": family,
            "date_of_birth": born, "sex": "female", "phone": phone, "national_id": national_id, "address": address,
            "jurisdiction_code": code or district}


def as_csv(rows: list[dict[str, str]]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=LAB_HEADER.split(","), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


def import_rows(session, rows: list[dict[str, str]]) -> None:  # type: ignore[no-untyped-def]
    import_lab_file(session, read_lab_csv(as_csv(rows), source="setup.csv"), sha256="setup", actor=SETUP)


@dataclass
class District:
    persons: dict[str, int] = field(default_factory=dict)
    cases: dict[str, int] = field(default_factory=dict)
    task: int = 0
    link: int = 0
    proposal: int = 0


@dataclass
class World:
    app: Any
    engine: Any
    url: str
    districts: dict[str, District]
    tokens: dict[str, str]
    clients: dict[str, TestClient] = field(default_factory=dict)

    def client(self, name: str) -> TestClient:
        if name not in self.clients:
            self.clients[name] = TestClient(self.app, base_url="https://testserver",
                                            headers={"Authorization": f"Bearer {self.tokens[name]}"})
        return self.clients[name]


def _build_district(session, code: str) -> District:  # type: ignore[no-untyped-def]
    d = District()
    import_rows(session, [lab_row(code, "A"), lab_row(code, "M")])
    d.persons = {who: session.scalar(select(Person.id).where(Person.family_name == PEOPLE[code][who][1]))
                 for who in ("A", "M")}
    d.cases["A"] = session.scalar(select(Case.id).where(Case.person_id == d.persons["A"]))
    wb.record_interview(session, EVERYWHERE, d.cases["A"], actor=SETUP, onset=date(2026, 3, 9), isolation=None,
                        interviewed_on=date(2026, 3, 11), today=date(2026, 3, 11))
    wb.record_visit(session, EVERYWHERE, d.cases["A"], VisitSpec(
        PlaceSpec(name=f"Café {code}", lat=52.37, lon=4.89), datetime(2026, 3, 9, 18, tzinfo=timezone.utc),
        datetime(2026, 3, 9, 20, tzinfo=timezone.utc)), actor=SETUP)
    given, family, born, phone, national_id, _, _ = PEOPLE[code]["B"]
    wb.record_contact(session, EVERYWHERE, d.cases["A"], Identity(given, family, date.fromisoformat(born), phone,
                                                                  national_id),
                      actor=SETUP, setting="household", last_exposure=date(2026, 3, 9), identified_on=date(2026, 3, 11))
    import_rows(session, [lab_row(code, "B", collected="2026-03-12", resulted="2026-03-13")])
    d.persons["B"] = session.scalar(select(Person.id).where(Person.family_name == PEOPLE[code]["B"][1]))
    d.cases["B"] = session.scalar(select(Case.id).where(Case.person_id == d.persons["B"]))
    d.task = session.scalar(select(Task.id).where(Task.case_id == d.cases["A"], Task.kind == "interview"))
    d.link = session.scalar(select(TransmissionLink.id).where(TransmissionLink.infectee_case_id == d.cases["B"]))
    proposals = propose_case_windows(session, EVERYWHERE, d.cases["A"], actor=SETUP)
    d.proposal = next(p.proposal_id for p in proposals if p.proposal_id is not None)
    assert all((d.task, d.link, d.proposal, *d.persons.values(), *d.cases.values()))
    return d


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    url = database_url(tmp_path_factory.mktemp('scope'), 'matrix')
    engine = city_database(url)
    tokens = {}
    with write_session(engine) as session:
        districts = {code: _build_district(session, code) for code in ("D2", "D1")}  # D1's M is the newer duplicate
        # The only tie between the districts: a merge candidate (its evidence names both).
        assert session.scalar(select(func.count()).select_from(MergeCandidate)) == 1
        for code in ("D1", "D2"):
            for role in ROLES:
                add_user(session, username(role, code), PASSWORD, role=role.value, jurisdiction_code=code)
                tokens[username(role, code)] = create_api_token(session, username(role, code), name="matrix")
        add_user(session, "supervisor-CITY", PASSWORD, role=Role.SUPERVISOR.value, jurisdiction_code="CITY")
        tokens["supervisor-CITY"] = create_api_token(session, "supervisor-CITY", name="matrix")
    yield World(create_app(engine), engine, url, districts, tokens)
    engine.dispose()


# -- the route table -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Probe:
    """One request for the other district's record, and its twin for a record that does not exist."""

    method: str
    url: str
    kwargs: dict[str, Any]
    twin_url: str
    twin_kwargs: dict[str, Any]
    asked: str  # the id or code asked for: the only thing in which the two answers may differ
    twin_asked: str
    denial: tuple[str, int | None]  # the denied entry's record type and person id
    needs: Permission


Builder = Callable[[District, District, str, str], list[Probe]]
"""(own district's records, the other's, own code, the other's code) -> the probes of one route."""


def _case_route(method: str, suffix: str, needs: Permission, body: dict | None = None) -> Builder:
    def build(own: District, other: District, own_code: str, other_code: str) -> list[Probe]:
        kwargs = {} if body is None else {"json": body}
        case = other.cases["A"]
        return [Probe(method, f"/api/cases/{case}{suffix}", kwargs, f"/api/cases/{MISSING_ID}{suffix}", kwargs,
                      str(case), str(MISSING_ID), ("case", other.persons["A"]), needs)]
    return build


def _jurisdiction_filter(path: str) -> Builder:
    def build(own: District, other: District, own_code: str, other_code: str) -> list[Probe]:
        return [Probe("GET", path, {"params": {"jurisdiction": other_code}}, path, {"params": {"jurisdiction": "NOPE"}},
                      other_code, "NOPE", ("jurisdiction", None), Permission.READ_PERSONAL)]
    return build


def _merge(own: District, other: District, own_code: str, other_code: str) -> list[Probe]:
    both = {"keep": other.persons["A"], "other": other.persons["M"]}
    mixed = {"keep": own.persons["A"], "other": other.persons["A"]}
    return [
        Probe("POST", "/api/persons/merge", {"json": both}, "/api/persons/merge",
              {"json": {"keep": MISSING_ID, "other": MISSING_ID - 1}}, str(other.persons["A"]), str(MISSING_ID),
              ("person", other.persons["A"]), Permission.MERGE_PERSONS),
        Probe("POST", "/api/persons/merge", {"json": mixed}, "/api/persons/merge",
              {"json": {"keep": own.persons["A"], "other": MISSING_ID}}, str(other.persons["A"]), str(MISSING_ID),
              ("person", other.persons["A"]), Permission.MERGE_PERSONS),
    ]


def _one(method: str, template: str, attribute: Callable[[District], int], record_type: str,
         person: Callable[[District], int], needs: Permission, body: dict | None = None) -> Builder:
    def build(own: District, other: District, own_code: str, other_code: str) -> list[Probe]:
        kwargs = {} if body is None else {"json": body}
        record = attribute(other)
        return [Probe(method, template.format(record), kwargs, template.format(MISSING_ID), kwargs, str(record),
                      str(MISSING_ID), (record_type, person(other)), needs)]
    return build


def _audit(own: District, other: District, own_code: str, other_code: str) -> list[Probe]:
    person = other.persons["A"]
    return [Probe("GET", "/api/audit", {"params": {"person_id": person}}, "/api/audit",
                  {"params": {"person_id": MISSING_ID}}, str(person), str(MISSING_ID), ("person", person),
                  Permission.READ_AUDIT)]


VISIT = {"place": "X", "start": "2026-03-09T18:00:00Z", "end": "2026-03-09T19:00:00Z"}
CONTACT = {"given_name": "Al", "family_name": "Probe", "setting": "work", "last_exposure": "2026-03-09"}

RECORD_ROUTES: dict[tuple[str, str], Builder] = {
    ("GET", "/api/cases/{case_id}"): _case_route("GET", "", Permission.READ_PERSONAL),
    ("PATCH", "/api/cases/{case_id}"): _case_route("PATCH", "", Permission.WRITE_INVESTIGATION, {"onset": "2026-03-09"}),
    ("POST", "/api/cases/{case_id}/visits"): _case_route("POST", "/visits", Permission.WRITE_INVESTIGATION, VISIT),
    ("POST", "/api/cases/{case_id}/contacts"): _case_route("POST", "/contacts", Permission.WRITE_INVESTIGATION, CONTACT),
    ("GET", "/api/cases/{case_id}/visits"): _case_route("GET", "/visits", Permission.READ_PERSONAL),
    ("GET", "/api/cases/{case_id}/windows"): _case_route("GET", "/windows", Permission.READ_PERSONAL),
    ("GET", "/api/cases/{case_id}/contacts"): _case_route("GET", "/contacts", Permission.READ_PERSONAL),
    ("POST", "/api/cases/{case_id}/publication"): _case_route("POST", "/publication", Permission.WRITE_INVESTIGATION),
    ("GET", "/api/cases"): _jurisdiction_filter("/api/cases"),
    ("GET", "/api/tasks"): _jurisdiction_filter("/api/tasks"),
    ("GET", "/api/persons"): _jurisdiction_filter("/api/persons"),
    ("GET", "/api/tasks/{task_id}"): _one("GET", "/api/tasks/{}", lambda d: d.task, "task", lambda d: d.persons["A"],
                                          Permission.READ_PERSONAL),
    ("POST", "/api/tasks/{task_id}/result"): _one("POST", "/api/tasks/{}/result", lambda d: d.task, "task",
                                                  lambda d: d.persons["A"], Permission.WRITE_INVESTIGATION,
                                                  {"result": "done"}),
    ("GET", "/api/persons/{person_id}"): _one("GET", "/api/persons/{}", lambda d: d.persons["A"], "person",
                                              lambda d: d.persons["A"], Permission.READ_PERSONAL),
    ("POST", "/api/persons/merge"): _merge,
    ("POST", "/api/links/{link_id}/review"): _one("POST", "/api/links/{}/review", lambda d: d.link, "link",
                                                  lambda d: d.persons["B"], Permission.REVIEW_LINKS,
                                                  {"decision": "confirm"}),
    ("POST", "/api/publications/{proposal_id}/review"): _one(
        "POST", "/api/publications/{}/review", lambda d: d.proposal, "publication", lambda d: d.persons["A"],
        Permission.APPROVE_PUBLICATION, {"decision": "approve", "acknowledge_warnings": True}),
    ("GET", "/api/audit"): _audit,
}
"""Routes that take a record id or a jurisdiction, with the probes that ask for the other district's."""

LAB_ROUTES = {("POST", "/api/labs"), ("POST", "/api/labs/rows")}
"""Routes whose refusals are conflict messages (tested by ``test_lab_import_conflicts``)."""

NOT_RECORD_SCOPED = {
    ("POST", "/api/session"), ("DELETE", "/api/session"), ("GET", "/api/me"),  # the caller's own account
    ("POST", "/api/share"),  # a one-time code, no account: tested in test_sharing
    ("GET", "/api/links"), ("GET", "/api/publications"),  # lists: checked for probe values in test_lists_*
    ("GET", "/api/analytics/curve"), ("GET", "/api/analytics/kpis"), ("GET", "/api/analytics/rt"),
    ("GET", "/api/analytics/clusters"), ("GET", "/api/reports/report.pdf"), ("GET", "/api/reports/report.json"),
    ("GET", "/api/audit/verify"),  # proves the chain; no personal data
    ("GET", "/api/audit/denials"),  # counts per account: test_denials_*
    # Accounts, by user name: scoped to the administrator's jurisdiction in storage.accounts
    # (_user_in_scope, list_users); tested in tests/test_accounts.py.
    ("GET", "/api/users"), ("POST", "/api/users"), ("GET", "/api/users/pending"),
    ("POST", "/api/users/{username}/approve"), ("POST", "/api/users/{username}/role"),
    ("POST", "/api/users/{username}/deactivate"), ("POST", "/api/users/{username}/reset-link"),
    ("GET", "/api/tokens"), ("POST", "/api/tokens"), ("DELETE", "/api/tokens/{token_id}"),  # the caller's own tokens
    ("GET", "/feed/"),  # public
}
"""API routes that take no record id and no jurisdiction (each with why)."""

MATRIX_SIZE = f"{len(RECORD_ROUTES)} routes x {len(ROLES)} roles x {len(DIRECTIONS)} directions"


def app_routes(app: Any) -> set[tuple[str, str]]:
    return {(method, r.path) for r in app.routes if isinstance(r, APIRoute) and not isinstance(r, PageRoute)
            and r.include_in_schema for method in r.methods}


@pytest.mark.parametrize("size", [MATRIX_SIZE], ids=[MATRIX_SIZE])  # the matrix's size, in the test id
def test_every_api_route_is_in_the_matrix_or_listed_as_not_record_scoped(world: World, size: str) -> None:
    routes = app_routes(world.app)
    classified = set(RECORD_ROUTES) | LAB_ROUTES | NOT_RECORD_SCOPED
    assert routes - classified == set(), "classify these routes: add them to RECORD_ROUTES or NOT_RECORD_SCOPED"
    assert classified - routes == set(), "these routes are gone: remove them from the matrix"
    print(f"scope matrix: {size} = {len(RECORD_ROUTES) * len(ROLES) * len(DIRECTIONS)} cells, "
          f"plus {len(LAB_ROUTES)} lab routes x {len(ROLES)} roles x {len(DIRECTIONS)} directions x 2 (import, dry run)")


# -- helpers ---------------------------------------------------------------------------------------

def denied_entries(world: World) -> list[AuditEvent]:
    with write_session(world.engine) as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.action == audit.DENIED).order_by(AuditEvent.id)))


def assert_no_probe_values(text: str, district: str, where: str) -> None:
    leaked = [value for value in probe_values(district) if value in text]
    assert not leaked, f"{where} shows {district}'s {leaked}: {text[:400]}"


def without(text: str, asked: str) -> str:
    return re.sub(rf"(?<![\w-]){re.escape(asked)}(?![\w-])", "<asked>", text)


def cells() -> list[Any]:
    return [pytest.param(route, role, direction, id=f"{route[0]} {route[1]} | {role.value} | {direction[0]}->{direction[1]}")
            for route in RECORD_ROUTES for role in ROLES for direction in DIRECTIONS]


# -- the matrix ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("route", "role", "direction"), cells())
def test_another_districts_record_is_answered_like_a_missing_one(world: World, route: tuple[str, str], role: Role,
                                                                 direction: tuple[str, str]) -> None:
    own_code, other_code = direction
    name = username(role, own_code)
    client = world.client(name)
    for probe in RECORD_ROUTES[route](world.districts[own_code], world.districts[other_code], own_code, other_code):
        before = len(denied_entries(world))
        asked = client.request(probe.method, probe.url, **probe.kwargs)
        after_probe = denied_entries(world)
        missing = client.request(probe.method, probe.twin_url, **probe.twin_kwargs)
        after_twin = denied_entries(world)
        where = f"{name} {probe.method} {probe.url} {probe.kwargs}"
        assert asked.status_code in (400, 403, 404), f"{where}: {asked.status_code} {asked.text}"
        assert asked.status_code == missing.status_code, where
        assert without(asked.text, probe.asked) == without(missing.text, probe.twin_asked), where
        assert_no_probe_values(asked.text, other_code, where)
        assert len(after_twin) == len(after_probe), f"{where}: a missing record was audited as denied"
        if not can(role.value, probe.needs):
            assert asked.status_code == 403 and len(after_probe) == before, where  # refused by role, before scope
            continue
        new = after_probe[before:]
        assert len(new) == 1, f"{where}: {len(new)} denied entries, expected 1"
        record_type, person_id = probe.denial
        assert (new[0].actor, new[0].record_type, new[0].record_id, new[0].person_id) == (
            f"user:{name}", record_type, probe.asked, person_id), where



PAGE_PROBES = {
    "/cases/{case_id}": lambda d: ("/cases/{}", d.cases["A"], "case", d.persons["A"]),
    "/persons/{person_id}": lambda d: ("/persons/{}", d.persons["A"], "person", d.persons["A"]),
}
"""Staff pages that take a record id (their forms post to the same storage functions as the API)."""


def page_cells() -> list[Any]:
    return [pytest.param(page, role, direction, id=f"GET {page} | {role.value} | {direction[0]}->{direction[1]}")
            for page in PAGE_PROBES for role in ROLES for direction in DIRECTIONS]


def test_every_staff_page_with_a_record_id_is_in_the_page_matrix(world: World) -> None:
    pages = {r.path for r in world.app.routes if isinstance(r, PageRoute) and "GET" in r.methods and "_id}" in r.path}
    assert pages == set(PAGE_PROBES)


@pytest.mark.parametrize(("page", "role", "direction"), page_cells())
def test_another_districts_page_is_answered_like_a_missing_one(world: World, page: str, role: Role,
                                                               direction: tuple[str, str]) -> None:
    own_code, other_code = direction
    name = username(role, own_code)
    template, record, record_type, person = PAGE_PROBES[page](world.districts[other_code])
    client = world.client(name)
    before = len(denied_entries(world))
    asked = client.get(template.format(record))
    after = denied_entries(world)
    missing = client.get(template.format(MISSING_ID))
    assert asked.status_code == missing.status_code and asked.status_code in (403, 404)
    def normalised(text: str, asked: int) -> str:  # the id where it is named: in the path and "with id N"
        return text.replace(template.format(asked), "<path>").replace(f"with id {asked}", "with id <asked>")

    assert normalised(asked.text, record) == normalised(missing.text, MISSING_ID)
    assert_no_probe_values(asked.text, other_code, f"{name} GET {template.format(record)}")
    assert len(denied_entries(world)) == len(after)
    if asked.status_code == 403:
        assert len(after) == before
    else:
        [entry] = after[before:]
        assert (entry.actor, entry.record_type, entry.record_id, entry.person_id) == (
            f"user:{name}", record_type, str(record), person)


def lab_probes(other_code: str, own_code: str) -> list[tuple[str, list[dict[str, str]]]]:
    """Rows aimed at the other district's stored specimen: one as stored (but for the code), one
    with other values; and a new specimen for the other district's code."""
    as_stored = lab_row(other_code, "A", code=own_code)
    other_values = {**as_stored, "given_name": "Pat", "family_name": "Prober", "date_of_birth": "2001-01-01",
                    "phone": "", "national_id": "", "address": "1 Probe Lane", "result": "negative"}
    new_specimen = {**other_values, "specimen_id": "PROBE-NEW", "jurisdiction_code": other_code}
    return [("as stored", [as_stored]), ("other values", [other_values]), ("other district's code", [new_specimen])]


@pytest.mark.parametrize("dry_run", [False, True], ids=["import", "dry run"])
@pytest.mark.parametrize("route", sorted(LAB_ROUTES), ids=lambda r: f"{r[0]} {r[1]}")
@pytest.mark.parametrize("role", ROLES, ids=lambda r: r.value)
@pytest.mark.parametrize("direction", DIRECTIONS, ids=lambda d: f"{d[0]}->{d[1]}")
def test_lab_import_conflicts_name_nothing_stored_elsewhere(world: World, route: tuple[str, str], role: Role,
                                                           direction: tuple[str, str], dry_run: bool) -> None:
    own_code, other_code = direction
    name = username(role, own_code)
    client = world.client(name)
    other = world.districts[other_code]
    bodies = {}
    for label, rows in lab_probes(other_code, own_code):
        before = len(denied_entries(world))
        if route[1] == "/api/labs":
            response = client.post("/api/labs", params={"dry_run": dry_run},
                                   files={"file": ("labs.csv", as_csv(rows), "text/csv")})
        else:
            response = client.post("/api/labs/rows", json={"rows": rows, "dry_run": dry_run})
        new = denied_entries(world)[before:]
        where = f"{name} {route} {label} dry_run={dry_run}"
        assert_no_probe_values(response.text, other_code, where)
        bodies[label] = response.json()
        if not can(role.value, Permission.IMPORT_LABS):
            assert response.status_code == 403 and new == [], where
            continue
        assert response.status_code == 422, f"{where}: {response.text}"
        assert len(new) == 1 and new[0].actor == f"user:{name}", where
        if label == "other district's code":
            assert (new[0].record_type, new[0].record_id, new[0].person_id) == ("jurisdiction", other_code, None)
        else:
            assert (new[0].record_type, new[0].person_id) == ("lab result", other.persons["A"]), where
            assert bodies[label]["errors"] == [{"row": 2 if route[1] == "/api/labs" else 1, "field": "specimen_id",
                                                "value": None, "reason": wb_elsewhere()}], where
    # Same answer whether the row matches what is stored or not: probing learns nothing.
    assert bodies["as stored"] == bodies["other values"]



@pytest.mark.parametrize("direction", DIRECTIONS, ids=lambda d: f"{d[0]}->{d[1]}")
def test_a_dry_run_cannot_tell_who_exists_in_the_other_district(world: World, direction: tuple[str, str]) -> None:
    """Person resolution is global, but the import report counts as the caller sees: a row naming the
    other district's person (with an open case there) reads like a row naming nobody known."""
    own_code, other_code = direction
    client = world.client(username(Role.SUPERVISOR, own_code))
    known = {**lab_row(other_code, "A", code=own_code), "specimen_id": "PROBE-KNOWN"}
    nobody = {**known, "specimen_id": "PROBE-NOBODY", "given_name": "Pat", "family_name": "Nobody",
              "national_id": "", "phone": "+15559999"}
    reports = [client.post("/api/labs/rows", json={"rows": [row], "dry_run": True}) for row in (known, nobody)]
    assert [r.status_code for r in reports] == [200, 200], [r.text for r in reports]
    assert reports[0].json() == reports[1].json()
    assert reports[0].json()["new_persons"] == reports[0].json()["new_cases"] == 1
    # A near-duplicate of both districts' Danas counts only the candidate in scope.
    given, family, born, _, _, _, _ = PEOPLE[other_code]["M"]
    near = {**nobody, "specimen_id": "PROBE-NEAR", "given_name": given, "family_name": family, "date_of_birth": born}
    report = client.post("/api/labs/rows", json={"rows": [near], "dry_run": True}).json()
    assert report["merge_candidates"] == 1  # own district's M; the other district's M is not counted
    assert_no_probe_values(str(report), other_code, "dry-run report")


@pytest.mark.parametrize("result", ["negative", "positive"])
def test_a_dry_run_cannot_tell_who_is_followed_up_in_the_other_district(world: World, result: str) -> None:
    """A result for someone who is the other district's contact (an open test task there) closes
    that task or converts that contact, but the caller's report does not say so."""
    identity = Identity("Eve", f"Southby-{result}", date(1991, 9, 9), f"+1555030{len(result)}", None)
    with write_session(world.engine) as session:
        wb.record_contact(session, EVERYWHERE, world.districts["D2"].cases["A"], identity, actor=SETUP,
                          setting="household", last_exposure=date(2026, 3, 9), identified_on=date(2026, 3, 11))
    row = {"lab_id": "LAB-A", "specimen_id": f"PROBE-EVE-{result}", "collected_on": "2026-03-14",
           "resulted_on": "2026-03-15", "result": result, "test_type": "PCR", "given_name": "Eve",
           "family_name": identity.family_name, "date_of_birth": "1991-09-09", "sex": "female", "phone": identity.phone,
           "national_id": "", "address": "", "jurisdiction_code": "D1"}
    nobody = {**row, "specimen_id": f"PROBE-NOONE-{result}", "family_name": "Noone", "phone": "+15559998"}
    supervisor = world.client("supervisor-D1")
    reports = [supervisor.post("/api/labs/rows", json={"rows": [r], "dry_run": True}).json() for r in (row, nobody)]
    assert reports[0] == reports[1]
    city = world.client("supervisor-CITY").post("/api/labs/rows", json={"rows": [row], "dry_run": True}).json()
    assert (city["tests_closed"], city["contacts_became_cases"]) == ((1, 0) if result == "negative" else (0, 1))


def wb_elsewhere() -> str:
    from epitrace.storage.labs import ELSEWHERE

    return ELSEWHERE


# -- cross-references and lists --------------------------------------------------------------------

@pytest.mark.parametrize("role", ROLES, ids=lambda r: r.value)
@pytest.mark.parametrize("direction", DIRECTIONS, ids=lambda d: f"{d[0]}->{d[1]}")
def test_lists_and_cross_references_name_nobody_of_the_other_district(world: World, role: Role,
                                                                       direction: tuple[str, str]) -> None:
    own_code, other_code = direction
    own = world.districts[own_code]
    client = world.client(username(role, own_code))
    urls = [path for method, path in app_routes(world.app) if method == "GET" and "{" not in path
            and path not in ("/api/audit",)]
    urls += [f"/api/persons/{own.persons['M']}", f"/api/persons/{own.persons['A']}", f"/api/persons/{own.persons['B']}",
             f"/api/cases/{own.cases['A']}", f"/api/cases/{own.cases['B']}", f"/api/cases/{own.cases['A']}/contacts",
             "/api/persons?q=dana", f"/api/audit?person_id={own.persons['M']}", "/api/publications?status=proposed"]
    for url in urls:
        response = client.get(url)
        assert response.status_code < 500 or url == "/feed/", (url, response.text)  # no feed key: 503
        assert_no_probe_values(response.text, other_code, f"{role.value}-{own_code} GET {url}")
    if can(role.value, Permission.READ_PERSONAL):
        person = client.get(f"/api/persons/{own.persons['M']}").json()
        assert person["merge_candidates"] == []  # its near-duplicate lives in the other district
        case = client.get(f"/api/cases/{own.cases['A']}").json()
        assert [link["id"] for link in case["links"]] == [own.link]
        assert own.persons["B"] in [c["person"]["id"] for c in case["contacts"]]


def test_a_merge_candidate_is_shown_when_both_are_in_scope_and_audited_for_both(world: World) -> None:
    d1, d2 = world.districts["D1"], world.districts["D2"]
    before = {p: trail(world, p) for p in (d1.persons["M"], d2.persons["M"])}
    person = world.client("supervisor-CITY").get(f"/api/persons/{d1.persons['M']}").json()
    [candidate] = person["merge_candidates"]
    assert candidate["other_person"] == d2.persons["M"] and "Quillon" in candidate["evidence"]
    assert trail(world, d2.persons["M"])[len(before[d2.persons["M"]]):] == [
        ("user:supervisor-CITY", "read", "merge candidate", str(candidate["id"]))]
    assert ("user:supervisor-CITY", "read", "person", str(d1.persons["M"])) in trail(world, d1.persons["M"])
    # A link across the districts is shown to the city, not to either district.
    with write_session(world.engine) as session:
        session.add(TransmissionLink(infector_case_id=d1.cases["A"], infectee_case_id=d2.cases["A"],
                                     certainty="possible", evidence="co-location at Café"))
        session.flush()
        cross = session.scalar(select(TransmissionLink.id).where(TransmissionLink.infectee_case_id == d2.cases["A"]))
    try:
        city = world.client("supervisor-CITY").get(f"/api/cases/{d2.cases['A']}").json()
        assert cross in [link["id"] for link in city["links"]]
        for code, case in (("D1", d1.cases["A"]), ("D2", d2.cases["A"])):
            links = world.client(username(Role.SUPERVISOR, code)).get(f"/api/cases/{case}").json()["links"]
            assert cross not in [link["id"] for link in links]
            listed = world.client(username(Role.SUPERVISOR, code)).get("/api/links").json()["data"]
            assert cross not in [link["id"] for link in listed]
            refused = world.client(username(Role.SUPERVISOR, code)).post(f"/api/links/{cross}/review",
                                                                         json={"decision": "confirm"})
            assert refused.status_code == 404 and refused.json()["error"] == f"no link with id {cross}"
    finally:
        with write_session(world.engine) as session:
            session.delete(session.get_one(TransmissionLink, cross))



def test_naming_a_contact_is_a_read_of_the_contacts_person_and_only_where_it_is_named(world: World) -> None:
    d1 = world.districts["D1"]
    tracer = world.client("tracer-D1")
    contact_person = d1.persons["B"]
    for url, named in ((f"/api/cases/{d1.cases['A']}", True), (f"/api/cases/{d1.cases['A']}/contacts", True),
                       (f"/api/cases/{d1.cases['A']}/visits", False), (f"/api/cases/{d1.cases['A']}/windows", False)):
        before = trail(world, contact_person)
        assert tracer.get(url).status_code == 200
        new = trail(world, contact_person)[len(before):]
        assert [(actor, action, record_type) for actor, action, record_type, _ in new] == (
            [("user:tracer-D1", "read", "contact")] if named else []), url


def trail(world: World, person_id: int) -> list[tuple[str, str, str, str]]:
    with write_session(world.engine) as session:
        return [(e.actor, e.action, e.record_type, e.record_id) for e in
                session.scalars(select(AuditEvent).where(AuditEvent.person_id == person_id).order_by(AuditEvent.id))]


def test_a_refusal_is_in_the_trail_of_the_person_concerned_and_kept_although_the_request_failed(world: World) -> None:
    d2 = world.districts["D2"]
    tracer = world.client("tracer-D1")
    before = trail(world, d2.persons["A"])
    with write_session(world.engine) as session:
        onset = session.get_one(Case, d2.cases["A"]).onset_date
    refused = tracer.patch(f"/api/cases/{d2.cases['A']}", json={"onset": "2026-03-01"})
    assert refused.status_code == 404
    assert trail(world, d2.persons["A"])[len(before):] == [("user:tracer-D1", "denied", "case", str(d2.cases["A"]))]
    with write_session(world.engine) as session:
        assert session.get_one(Case, d2.cases["A"]).onset_date == onset  # the write itself was rolled back


def test_a_file_of_many_refused_rows_writes_a_bounded_number_of_entries(world: World) -> None:
    """One entry per refused record up to a limit, then one more that counts the rest."""
    d2 = world.districts["D2"]
    with write_session(world.engine) as session:
        stored = session.scalar(select(LabResult).where(LabResult.person_id == d2.persons["A"]))
        template = lab_row("D2", "A", code="D1")
        for i in range(audit.MAX_DENIALS_PER_TRANSACTION + 30):
            session.add(LabResult(lab_id="LAB-A", specimen_id=f"BULK-{i}", collected_on=stored.collected_on,
                                  resulted_on=stored.resulted_on, result="negative", test_type="PCR",
                                  person_id=d2.persons["A"], jurisdiction_id=stored.jurisdiction_id,
                                  reported_identity="{}"))
    rows = [{**template, "specimen_id": f"BULK-{i}"} for i in range(audit.MAX_DENIALS_PER_TRANSACTION + 30)]
    before = len(denied_entries(world))
    response = world.client("supervisor-D1").post("/api/labs/rows", json={"rows": rows, "dry_run": True})
    assert response.status_code == 422 and len(response.json()["errors"]) == len(rows)
    new = denied_entries(world)[before:]
    assert len(new) == audit.MAX_DENIALS_PER_TRANSACTION + 1
    assert (new[-1].record_type, new[-1].record_id, new[-1].person_id) == ("more", "30 more refused", None)



def test_a_shared_visit_of_another_district_is_refused_like_a_missing_one(world: World) -> None:
    """confirm_visit named the case of a visit out of scope; now it is refused like a missing visit."""
    from epitrace.errors import NotFound
    from epitrace.storage.models import Visit
    from epitrace.storage.scope import Scope
    from epitrace.storage.sharing import confirm_visit

    d2 = world.districts["D2"]
    with write_session(world.engine) as session:
        visit = session.scalar(select(Visit.id).where(Visit.case_id == d2.cases["A"]))
        d1 = Scope(frozenset({session.scalar(select(Person.jurisdiction_id).where(
            Person.id == world.districts["D1"].persons["A"]))}))
    before = len(denied_entries(world))
    with pytest.raises(NotFound) as refused, write_session(world.engine) as session:
        confirm_visit(session, d1, visit, actor=Actor("user:tracer-D1"))
    assert refused.value.message == f"no visit with id {visit}"
    with pytest.raises(NotFound) as missing, write_session(world.engine) as session:
        confirm_visit(session, d1, MISSING_ID, actor=Actor("user:tracer-D1"))
    assert missing.value.message == f"no visit with id {MISSING_ID}"
    [entry] = denied_entries(world)[before:]
    assert (entry.record_type, entry.record_id, entry.person_id) == ("case", str(d2.cases["A"]), d2.persons["A"])


# -- the privacy officer's views -------------------------------------------------------------------

def test_denials_per_account_and_day_are_scoped_to_the_privacy_officers_accounts(world: World) -> None:
    world.client("tracer-D2").get(f"/api/persons/{world.districts['D1'].persons['A']}")  # at least one each way
    world.client("tracer-D1").get(f"/api/persons/{world.districts['D2'].persons['A']}")
    with write_session(world.engine) as session:
        per_actor = dict(session.execute(select(AuditEvent.actor, func.count()).where(
            AuditEvent.action == audit.DENIED).group_by(AuditEvent.actor)).all())
    for code in ("D1", "D2"):
        response = world.client(username(Role.PRIVACY_OFFICER, code)).get("/api/audit/denials", params={"days": 7})
        assert response.status_code == 200, response.text
        body = response.json()
        today = datetime.now(timezone.utc).date().isoformat()
        assert body["until"] == today and body["count"] == len(body["data"])
        counted = {row["account"]: row["denials"] for row in body["data"]}
        assert counted == {actor: n for actor, n in per_actor.items() if actor.endswith(f"-{code}")}
        assert all(row["day"] == today for row in body["data"])
    assert world.client("tracer-D1").get("/api/audit/denials").status_code == 403
    bad = world.client("privacy-officer-D1").get("/api/audit/denials", params={"days": 0})
    assert bad.status_code == 422 and set(bad.json()) == {"ok", "error", "errors", "status"}


def test_denials_on_the_command_line(world: World, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from epitrace.cli import app

    world.client("tracer-D2").get(f"/api/persons/{world.districts['D1'].persons['A']}")  # a denial of its own, so the test holds when run alone
    monkeypatch.setenv("EPITRACE_DATABASE_URL", world.url)
    monkeypatch.chdir(tmp_path)
    out = CliRunner().invoke(app, ["audit", "denials", "--jurisdiction", "D2", "--days", "1"], catch_exceptions=False)
    assert out.exit_code == 0, out.output
    import json

    rows = json.loads(out.stdout)
    assert rows and {r["account"] for r in rows} <= {f"user:{username(role, 'D2')}" for role in ROLES}
    with write_session(world.engine) as session:
        assert sum(r["denials"] for r in rows) == session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == audit.DENIED, AuditEvent.actor.like("user:%-D2")))


def test_the_audit_of_a_person_needs_the_person_in_scope(world: World) -> None:
    d1 = world.districts["D1"]
    ok = world.client("privacy-officer-D1").get("/api/audit", params={"person_id": d1.persons["A"]})
    assert ok.status_code == 200 and any(e["action"] == "read" for e in ok.json())
    other = world.client("privacy-officer-D2").get("/api/audit", params={"person_id": d1.persons["A"]})
    missing = world.client("privacy-officer-D2").get("/api/audit", params={"person_id": MISSING_ID})
    assert other.status_code == missing.status_code == 404
    assert other.json()["error"] == f"no person with id {d1.persons['A']}"


def test_the_audit_chain_verifies_after_the_whole_matrix(world: World) -> None:
    world.client("tracer-D1").get(f"/api/persons/{world.districts['D2'].persons['A']}")  # a denial of its own, so the test holds when run alone
    with write_session(world.engine) as session:
        assert audit.verify(session) is None
        assert session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == audit.DENIED)) > 0
    assert world.client("privacy-officer-D1").get("/api/audit/verify").json() == {"ok": True, "first_broken_entry": None}
