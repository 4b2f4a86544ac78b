"""The command line as an API: help, exit codes, filters."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from sqlalchemy import select, text

from epitrace.cli import app
from epitrace.storage.db import make_engine, read_session
from epitrace.storage.models import Case
from tests.conftest import lab_line, write_labs

COMMANDS = ["init", "demo", "serve", "match", "rt", "chains", "serial-interval", "report", "curve", "kpis", "trail", "check", "colocate", "jurisdictions", "profiles", "import", "persons", "cases", "visits", "contacts", "tasks", "links", "clusters", "feed", "share", "venues", "users", "audit"]


def test_help_lists_every_command_with_a_summary(cli) -> None:
    result = cli("--help")
    assert result.exit_code == 0
    registered = [c.name for c in app.registered_commands] + [g.name for g in app.registered_groups]
    assert registered == COMMANDS
    for name in COMMANDS:
        line = next(l for l in result.stdout.splitlines() if l.strip("│ ").startswith(name + " "))
        assert len(line.strip("│ ").split(None, 1)[1]) > 10, f"{name} has no summary"


def test_python_dash_m_works() -> None:
    out = subprocess.run([sys.executable, "-m", "epitrace", "--help"], capture_output=True, text=True, check=True)
    assert "jurisdictions" in out.stdout


def test_commands_need_an_initialised_database(tmp_path, monkeypatch) -> None:
    from typer.testing import CliRunner

    monkeypatch.setenv("EPITRACE_DATABASE_URL", f"sqlite:///{tmp_path / 'new.db'}")
    result = CliRunner().invoke(app, ["tasks", "list"])
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        f"Error: the database at sqlite:///{tmp_path / 'new.db'} has no epitrace tables; run `epitrace init` first "
        "(or set EPITRACE_DATABASE_URL to the right database)"
    )
    assert CliRunner().invoke(app, ["init"]).exit_code == 0
    assert CliRunner().invoke(app, ["init"]).exit_code == 0  # idempotent


def test_database_url_errors_never_print_the_password(monkeypatch) -> None:
    """A malformed URL, an unknown driver and an unreachable server: a clear error, no traceback, and
    the password nowhere in the output (issue 11)."""
    from typer.testing import CliRunner

    for url, says in (("postgresql+psycopg://ana:hunter2@db:notaport/x", "is not a usable database URL"),
                      ("postgresql+nodriver://ana:hunter2@db/x", "Can't load plugin"),
                      ("postgresql+psycopg://ana:hunter2@127.0.0.1:1/x", "cannot reach the database at "
                                                                          "postgresql+psycopg://ana:***@127.0.0.1:1/x")):
        monkeypatch.setenv("EPITRACE_DATABASE_URL", url)
        result = CliRunner().invoke(app, ["tasks", "list"])
        assert result.exit_code == 2 and says in result.stderr, (url, result.output)
        assert "hunter2" not in result.output and "Traceback" not in result.output


def test_jurisdictions(cli) -> None:
    assert cli("jurisdictions", "add", "D1a", "North A", "--parent", "D1").exit_code == 0
    listing = cli("jurisdictions", "list", "--format", "csv").stdout.splitlines()
    assert listing == ["code,name,parent", "CITY,Synthville,", "D1,North District,CITY", "D1a,North A,D1",
                       "D2,South District,CITY"]
    dup = cli("jurisdictions", "add", "D1", "Again")
    assert (dup.exit_code, dup.stderr.strip()) == (
        1, "Error: jurisdiction 'D1' already exists; list them with `epitrace jurisdictions list`")
    orphan = cli("jurisdictions", "add", "Z1", "Zed", "--parent", "NOPE")
    assert orphan.stderr.strip().startswith("Error: unknown jurisdiction code 'NOPE'")


def test_tasks_filters_by_jurisdiction_subtree_and_overdue(cli, engine) -> None:
    write_labs(cli.cwd / "l.csv", lab_line("S1", jurisdiction="D1"),
               lab_line("S2", jurisdiction="D2", given="Bo", resulted="2026-03-13", collected="2026-03-12"))
    cli("import", "labs", "l.csv")
    def ids(*args: str) -> list[str]:
        rows = cli("tasks", "list", "--format", "csv", *args).stdout.splitlines()[1:]
        return [r.split(",")[0] for r in rows]
    assert len(ids()) == 2
    assert len(ids("--jurisdiction", "CITY")) == 2
    assert len(ids("--jurisdiction", "D2")) == 1
    # Interview of the D1 case was due 2026-03-12, the D2 one 2026-03-14.
    assert ids("--overdue", "--today", "2026-03-13") == ids("--jurisdiction", "D1")
    assert ids("--overdue", "--today", "2026-03-12") == []
    bad = cli("tasks", "list", "--today", "13/03/2026")
    assert bad.stderr.strip() == "Error: --today '13/03/2026' is not a date: expected YYYY-MM-DD, e.g. 2026-03-14"


def test_interview_from_the_command_line(cli, engine) -> None:
    write_labs(cli.cwd / "l.csv", lab_line("S1"))
    cli("import", "labs", "l.csv")
    with read_session(engine) as session:
        case_id = str(session.scalars(select(Case.id)).one())
    assert cli("cases", "update", case_id, "--onset", "2026-03-09", "--isolation", "2026-03-11",
               "--interviewed", "2026-03-12").exit_code == 0
    visit = cli("visits", "add", case_id, "--place", "Blue Door Café", "--lat", "52.37", "--lon", "4.89",
                "--start", "2026-03-08T18:00+01:00", "--end", "2026-03-08T20:00+01:00")
    assert visit.stdout.strip() == (f"Added visit 1 to case {case_id}; exposure window 1: 2026-03-08 17:00:00 to "
                                    "2026-03-08 19:00:00 UTC.")
    naive = cli("visits", "add", case_id, "--place", "X", "--start", "2026-03-08T18:00", "--end", "2026-03-08T19:00")
    assert naive.stderr.strip() == ("Error: --start '2026-03-08T18:00' has no UTC offset: add one, e.g. "
                                    "2026-03-08T18:00+00:00 or 2026-03-08T18:00Z")
    contact = cli("contacts", "add", case_id, "--given-name", "Bo", "--family-name", "Jensen", "--dob", "1985-06-01",
                  "--setting", "household", "--last-exposure", "2026-03-11", "--on", "2026-03-12")
    assert contact.stdout.strip() == "Recorded contact 1 (person 2) with 15 follow-up task(s)."
    tasks = cli("tasks", "list", "--kind", "test", "--format", "csv").stdout.splitlines()
    task_id = tasks[1].split(",")[0]
    assert "because of exposure: household contact of case" in tasks[1]
    done = cli("tasks", "done", task_id, "--result", "negative", "--on", "2026-03-14")
    assert done.stdout.strip() == f"Task {task_id} (test) done: negative."
    twice = cli("tasks", "done", task_id, "--result", "negative")
    assert twice.exit_code == 1 and "is already done" in twice.stderr
    shown = cli("cases", "show", case_id).stdout
    assert "Infectious 2026-03-07 to 2026-03-11" in shown and "Blue Door Café" in shown and "Jensen" in shown


def test_readme_layout_is_generated_from_the_tree() -> None:
    from epitrace.cli.reference import README_PATH, with_layout

    readme = README_PATH.read_text(encoding="utf-8")
    assert readme == with_layout(readme), "README.md's layout is stale: run `python -m epitrace.cli.reference`"


def test_cli_reference_is_up_to_date() -> None:
    from epitrace.cli.reference import REFERENCE_PATH, render

    assert REFERENCE_PATH.read_text(encoding="utf-8") == render(), (
        "docs/cli-reference.md is stale: run `python -m epitrace.cli.reference`"
    )


def test_profiles_configure_follow_up(cli, engine) -> None:
    changed = cli("profiles", "set", "respiratory", "--test-within-days", "1", "--symptom-check-days", "7")
    assert changed.stdout.strip() == "Profile respiratory: test_within_days=1, symptom_check_days=7."
    write_labs(cli.cwd / "l.csv", lab_line("S1"))
    cli("import", "labs", "l.csv")
    with read_session(engine) as session:
        case_id = str(session.scalars(select(Case.id)).one())
    out = cli("contacts", "add", case_id, "--given-name", "Bo", "--family-name", "Jensen", "--setting", "household",
              "--last-exposure", "2026-03-11", "--on", "2026-03-12")
    assert out.stdout.strip() == "Recorded contact 1 (person 2) with 8 follow-up task(s)."  # notify, test, 13th-18th
    tests = cli("tasks", "list", "--kind", "test", "--format", "csv").stdout.splitlines()
    assert ",2026-03-13," in tests[1]
    bad = cli("profiles", "set", "respiratory", "--incubation-min-days", "20")
    assert bad.stderr.strip() == ("Error: profile 'respiratory': incubation_max_days must be >= incubation_min_days, "
                                  "got 14 < 20")
    assert cli("profiles", "set", "measles", "--create", "--infectious-days-before", "4").exit_code == 0
    listing = cli("profiles", "list", "--format", "csv").stdout.splitlines()
    assert listing[1].startswith("measles,4,10,") and listing[2].startswith("respiratory,2,10,1,1,1,7,")


def _typed(cli, text: str, *args: str):  # type: ignore[no-untyped-def]
    """Run a command with ``text`` on its standard input (a password for --password-stdin or the prompt)."""
    return cli.runner.invoke(app, list(args), input=text, catch_exceptions=False)


def test_users_and_audit_commands(cli, db_url) -> None:
    added = _typed(cli, "correct horse battery\n", "users", "add", "ana", "--role", "tracer", "--jurisdiction", "D1",
                           "--password-stdin")
    assert added.stdout.strip() == "Added ana (tracer, D1)."
    weak = _typed(cli, "short\n", "users", "add", "bo", "--role", "tracer", "--jurisdiction", "D1", "--password-stdin")
    assert weak.stderr.strip() == ("Error: the password is too short (5 characters): use at least 12 characters "
                                   "(a passphrase of a few words is best)")
    bad_role = _typed(cli, "correct horse battery\n", "users", "add", "cy", "--role", "police", "--jurisdiction",
                              "D1", "--password-stdin")
    assert bad_role.stderr.strip().startswith("Error: role 'police' is not known: expected one of tracer, supervisor")
    write_labs(cli.cwd / "l.csv", lab_line("S1"))
    cli("import", "labs", "l.csv")
    ok = cli("audit", "verify")
    assert ok.exit_code == 0 and ok.stdout.strip().startswith("The audit log's ")
    shown = cli("audit", "show", "--person", "1", "--format", "csv").stdout.splitlines()
    assert shown[0] == "id,at,actor,action,record_type,record_id,purpose" and ",create,person,1," in shown[-1]
    with make_engine(db_url).begin() as connection:  # tampering behind epitrace's back
        connection.execute(text("UPDATE audit_event SET actor = 'someone else' WHERE id = 2"))
    broken = cli("audit", "verify")
    assert (broken.exit_code, broken.stderr.strip()) == (
        1, "Error: the audit log is broken at entry 2: it or an entry before it was changed or removed")


@pytest.mark.slow
def test_concurrent_init_runs_take_turns(tmp_path) -> None:
    """Three `epitrace init` at once on a new database: all succeed, one schema (issue 11; before, two of
    three failed with 'table already exists' about half the time)."""
    from tests.backends import database_url

    url = database_url(tmp_path, "race")
    env = {k: v for k, v in os.environ.items() if not k.startswith("EPITRACE_")} | {"EPITRACE_DATABASE_URL": url}
    for _ in range(3):
        runs = [subprocess.Popen([sys.executable, "-m", "epitrace", "init"], env=env, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True) for _ in range(3)]
        results = [(run.wait(), run.stderr.read()) for run in runs]
        for run in runs:
            run.stdout.close()
            run.stderr.close()
        assert [code for code, _ in results] == [0, 0, 0], [err[-300:] for _, err in results]
    engine = make_engine(url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM disease_profile")).scalar_one() == 1
    engine.dispose()
