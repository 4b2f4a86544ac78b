"""The staff web app in a real browser against a real server: a tracer's day, form errors, scoping, screenshots.

One uvicorn server (a thread of this process, on 127.0.0.1) and one Chromium serve the whole module. Because the
server shares this process's environment and reads ``EPITRACE_TODAY`` per request, a test moves the service's
clock with ``monkeypatch.setenv``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Locator, Page, expect, sync_playwright
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from epitrace.api import create_app
from epitrace.cli import app as cli_app
from epitrace.domain.roles import Role
from epitrace.storage.accounts import add_user
from epitrace.storage.db import make_engine, write_session
from epitrace.storage.jurisdictions import add_jurisdiction
from epitrace.storage.migrate import upgrade
from epitrace.storage.models import Case, Person
from tests.backends import database_url
from tests.browser_support import assert_png, launch_chromium, live_server
from tests.conftest import lab_line, write_labs

pytestmark = pytest.mark.slow  # drives Chromium; run by make test-all / test-pg and CI

PASSWORD = "correct horse battery staple"
USERS = {"tracer-d1": (Role.TRACER, "D1"), "tracer-d2": (Role.TRACER, "D2")}
# Both results come back on 11 March; the tracers work on the 12th, the day after.
RESULTED = "2026-03-11"
TODAY = "2026-03-12"
# A contact named today is to be told within a day: on the next day their notify task is due today.
NEXT_DAY = "2026-03-13"
SCREENSHOTS = Path(__file__).resolve().parents[1] / "screenshots"
TASK = re.compile(r"^task-\d+$")


@dataclass(frozen=True)
class World:
    engine: Engine
    cases: dict[str, int]  # given name of the case's person -> case id


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """CITY > D1, D2; Ana Silva a case in D1, Bea Stone a case in D2; a tracer in each district."""
    folder = tmp_path_factory.mktemp("browser")
    url = database_url(folder, 'browser')
    engine = make_engine(url)
    upgrade(engine)
    with write_session(engine) as session:
        add_jurisdiction(session, "CITY", "Synthville")
        add_jurisdiction(session, "D1", "North District", parent_code="CITY")
        add_jurisdiction(session, "D2", "South District", parent_code="CITY")
    labs = write_labs(folder / "labs.csv",
                      lab_line("S1", jurisdiction="D1", given="Ana", phone="+15550001", resulted=RESULTED),
                      lab_line("S2", jurisdiction="D2", given="Bea", family="Stone", dob="1980-02-02",
                               resulted=RESULTED))
    with pytest.MonkeyPatch.context() as mp:  # the CLI sees this database and no EPITRACE_* of the developer's shell
        for name in [n for n in os.environ if n.startswith("EPITRACE_")]:
            mp.delenv(name)
        mp.setenv("EPITRACE_DATABASE_URL", url)
        imported = CliRunner().invoke(cli_app, ["import", "labs", str(labs)], catch_exceptions=False)
    assert imported.exit_code == 0, imported.output
    with write_session(engine) as session:
        for username, (role, code) in USERS.items():
            add_user(session, username, PASSWORD, role=role.value, jurisdiction_code=code)
        cases = {session.get_one(Person, c.person_id).given_name: c.id for c in session.scalars(select(Case))}
    yield World(engine, cases)
    engine.dispose()


@pytest.fixture(scope="module")
def server(world: World) -> Iterator[str]:
    with live_server(create_app(world.engine)) as base_url:
        yield base_url


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        yield chromium
        chromium.close()


@pytest.fixture(autouse=True)
def service_day(clean_environ: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """The server's today, set after conftest's ``clean_environ`` has emptied EPITRACE_*."""
    monkeypatch.setenv("EPITRACE_TODAY", TODAY)


@pytest.fixture
def page(browser: Browser, server: str) -> Iterator[Page]:
    """A fresh browser profile (no cookies) per test, at desktop width."""
    context = browser.new_context(base_url=server, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


def sign_in(page: Page, username: str) -> None:
    page.goto("/login")
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("banner")).to_contain_text(f"Signed in as {username} (tracer)")


def row_of(page: Page, table_header: str, text: str) -> Locator:
    """Rows containing ``text`` of the table that has a column ``table_header``."""
    # Playwright gives <th> the columnheader role only with scope="col", which the templates do not set.
    table = page.get_by_role("table").filter(has=page.locator("th", has_text=table_header))
    return table.get_by_role("row").filter(has_text=text)


def add_contact(page: Page, given: str, family: str, *, last_exposure: str, setting: str = "household") -> None:
    form = page.get_by_role("form", name="Add a contact")
    form.get_by_label("Given name").fill(given)
    form.get_by_label("Family name").fill(family)
    form.get_by_label("Date of birth").fill("1985-06-01")
    form.get_by_label("Phone").fill("+15550002")
    form.get_by_label("Setting").select_option(setting)
    form.get_by_label("Last exposure").fill(last_exposure)
    form.get_by_role("button", name="Add contact").click()


def tasks_in(page: Page, column: str, *texts: str) -> Locator:
    """Task cards of the board column ``column`` that contain every one of ``texts``."""
    cards = page.get_by_role("region", name=column).get_by_test_id(TASK)
    for text in texts:
        cards = cards.filter(has_text=text)
    return cards


def test_tracer_signs_in_and_opens_a_case_from_the_queue(page: Page, world: World) -> None:
    case_id = world.cases["Ana"]
    page.goto("/login")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.get_by_label("User name").fill("tracer-d1")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    expect(page).to_have_url(re.compile(r"/queue$"))
    expect(page.get_by_role("heading", name="Case queue")).to_be_visible()
    header = page.get_by_role("banner")
    expect(header).to_contain_text("Signed in as tracer-d1 (tracer)")
    expect(header).to_contain_text("North District (D1)")
    page.get_by_role("link", name="Show all cases").click()  # the waiting-only list empties once Ana is interviewed
    row = row_of(page, "Since result", "Ana Silva")
    expect(row).to_contain_text(RESULTED)
    expect(row).to_contain_text("1 d")
    expect(row_of(page, "Since result", "Bea Stone")).to_have_count(0)

    row.get_by_role("link", name=f"Case {case_id}").click()
    expect(page).to_have_url(re.compile(rf"/cases/{case_id}$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Case {case_id}: Ana Silva")


def test_tracer_records_the_interview_a_visit_and_a_contact(page: Page, world: World) -> None:
    case_id = world.cases["Ana"]
    sign_in(page, "tracer-d1")
    page.goto(f"/cases/{case_id}")

    page.get_by_label("Symptom onset").fill("2026-03-09")
    page.get_by_role("button", name="Save interview").click()
    expect(page.get_by_label("Symptom onset")).to_have_value("2026-03-09")
    expect(page.get_by_text("Infectious 2026-03-07 to")).to_be_visible()

    visit = page.get_by_role("form", name="Add a visit")
    visit.get_by_label("Place").fill("Blue Door Café")
    visit.get_by_label("Kind").select_option("venue")
    visit.get_by_label("From (UTC)").fill("2026-03-09T18:00")
    visit.get_by_label("To (UTC)").fill("2026-03-09T20:00")  # no coordinates: they are optional
    visit.get_by_role("button", name="Add visit").click()
    row = row_of(page, "Exposure window", "Blue Door Café")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("2026-03-09 18:00")
    expect(row).to_contain_text(re.compile(r"window \d+"))

    add_contact(page, "Bo", "Jensen", last_exposure=RESULTED)
    contact = row_of(page, "Last exposure", "Bo Jensen")
    expect(contact).to_have_count(1)
    expect(contact).to_contain_text("household")
    expect(contact).to_contain_text(RESULTED)
    expect(contact.get_by_role("link", name="Bo Jensen")).to_be_visible()


def test_a_visit_form_error_keeps_what_was_typed(page: Page, world: World) -> None:
    sign_in(page, "tracer-d1")
    page.goto(f"/cases/{world.cases['Ana']}")
    visit = page.get_by_role("form", name="Add a visit")
    visit.get_by_label("Place").fill("Green Park Kiosk")
    visit.get_by_label("Kind").select_option("other")
    visit.get_by_label("From (UTC)").fill("2026-03-09T20:00")
    visit.get_by_label("To (UTC)").fill("2026-03-09T19:00")
    with page.expect_response(re.compile(r"/visits$")) as posted:
        visit.get_by_role("button", name="Add visit").click()
    assert posted.value.status == 400

    expect(page.get_by_role("alert")).to_contain_text("is not after its start")
    visit = page.get_by_role("form", name="Add a visit")
    expect(visit.get_by_label("Place")).to_have_value("Green Park Kiosk")
    expect(visit.get_by_label("Kind")).to_have_value("other")
    expect(visit.get_by_label("From (UTC)")).to_have_value("2026-03-09T20:00")
    expect(visit.get_by_label("To (UTC)")).to_have_value("2026-03-09T19:00")
    expect(row_of(page, "Exposure window", "Green Park Kiosk")).to_have_count(0)


def test_task_board_shows_a_new_contacts_tasks_and_records_a_result_in_one_click(
        page: Page, world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    sign_in(page, "tracer-d1")
    page.goto(f"/cases/{world.cases['Ana']}")
    add_contact(page, "Cy", "Moreau", last_exposure=TODAY, setting="work")
    expect(row_of(page, "Last exposure", "Cy Moreau")).to_have_count(1)

    monkeypatch.setenv("EPITRACE_TODAY", NEXT_DAY)  # the next morning
    page.get_by_role("banner").get_by_role("link", name="Tasks").click()
    expect(page.get_by_role("heading", name="Tasks", exact=True)).to_be_visible()
    notify = tasks_in(page, "Due today", "Cy Moreau", "Tell the contact")
    expect(notify).to_have_count(1)
    expect(notify).to_contain_text(f"due {NEXT_DAY}")
    expect(tasks_in(page, "Due today", "Cy Moreau", "symptom check")).to_have_count(1)
    due_before = tasks_in(page, "Due today").count()

    notify.get_by_role("button", name="told").click()
    done = tasks_in(page, "Done", "Cy Moreau", "Tell the contact")
    expect(done).to_have_count(1)
    expect(done).to_contain_text("told")
    expect(done.get_by_role("button")).to_have_count(0)
    expect(tasks_in(page, "Due today", "Cy Moreau", "Tell the contact")).to_have_count(0)
    expect(tasks_in(page, "Due today")).to_have_count(due_before - 1)


def test_a_tracer_of_another_district_gets_not_found_for_the_case(page: Page, world: World) -> None:
    d1_case, d2_case = world.cases["Ana"], world.cases["Bea"]
    sign_in(page, "tracer-d2")
    expect(page.get_by_role("banner")).to_contain_text("South District (D2)")
    page.goto("/queue?show=all")
    expect(row_of(page, "Since result", "Bea Stone").get_by_role("link", name=f"Case {d2_case}")).to_be_visible()
    expect(row_of(page, "Since result", "Ana Silva")).to_have_count(0)
    expect(page.get_by_role("link", name=f"Case {d1_case}", exact=True)).to_have_count(0)

    response = page.goto(f"/cases/{d1_case}")
    assert response is not None and response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("Not found")
    expect(page.get_by_role("alert")).to_have_text(f"no case with id {d1_case}")
    expect(page.get_by_text("Ana Silva")).to_have_count(0)
    # Exactly what a case that does not exist looks like.
    missing = page.goto("/cases/999999")
    assert missing is not None and missing.status == 404
    expect(page.get_by_role("alert")).to_have_text("no case with id 999999")


def test_screenshots_of_the_main_pages_for_review(page: Page, world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    monkeypatch.setenv("EPITRACE_TODAY", NEXT_DAY)  # the morning after: a board with work on it
    shots: list[Path] = []

    def shoot(name: str) -> None:
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        shots.append(path)

    page.goto("/login")
    shoot("login")
    sign_in(page, "tracer-d1")
    pages = {"queue": "/queue?show=all", "case": f"/cases/{world.cases['Ana']}", "tasks": "/tasks", "chains": "/chains",
             "dashboard": "/dashboard"}
    for name, path in pages.items():
        response = page.goto(path)
        assert response is not None and response.status == 200, (path, response and response.status)
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        shoot(name)
    page.set_viewport_size({"width": 390, "height": 844})  # a phone
    for name in ("queue", "case", "tasks"):
        page.goto(pages[name])
        shoot(f"{name}-mobile")

    for path in shots:
        assert_png(path)
