"""One aggregate path (issue 9): scoped, suppressed together, audited once; and an attacker who tries to undo it."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from epitrace.api import create_app
from epitrace.domain.privacy import protect
from epitrace.domain.roles import Role
from epitrace.storage.accounts import add_user
from epitrace.storage.db import make_engine, write_session
from epitrace.storage.jurisdictions import add_jurisdiction
from epitrace.storage.migrate import upgrade
from epitrace.storage.models import AuditEvent, Case, Contact, Task, TransmissionLink
from tests.backends import database_url
from tests.conftest import LAB_HEADER, lab_line

PASSWORD = "correct horse battery staple"
FIRST = date(2026, 3, 2)  # a Monday
TODAY = date(2026, 3, 20)
# New cases per report day, 16 days: small counts on some days in each district.
D1 = [6, 7, 2, 8, 9, 6, 1, 7, 8, 9, 3, 6, 7, 8, 5, 6]
D2 = [5, 1, 6, 7, 3, 8, 6, 7, 9, 2, 6, 7, 1, 5, 8, 6]
ACCOUNTS = {"epi-city": (Role.EPIDEMIOLOGIST, "CITY"), "epi-d1": (Role.EPIDEMIOLOGIST, "D1"), "tracer-d1": (Role.TRACER, "D1")}


def build_world(url: str, per_day: dict[str, list[int]], *, onset_every: int = 3) -> None:
    """CITY > D1, D2 with ``per_day`` cases by report day from FIRST; every ``onset_every``-th case has no onset."""
    from epitrace.intake.labs import parse_lab_csv
    from epitrace.storage.audit import Actor
    from epitrace.storage.labs import import_lab_rows

    engine = make_engine(url)
    upgrade(engine)
    lines, n = [], 0
    for code, counts in per_day.items():
        for day, count in enumerate(counts):
            for _ in range(count):
                n += 1
                reported = FIRST + timedelta(days=day)
                lines.append(lab_line(f"S{n}", given=f"G{n}", family=f"F{n}", dob=f"19{40 + n % 50}-01-{1 + n % 28:02d}",
                                      collected=(reported - timedelta(days=1)).isoformat(), resulted=reported.isoformat(),
                                      jurisdiction=code))
    data = ("\n".join([LAB_HEADER, *lines]) + "\n").encode()
    with write_session(engine) as session:
        add_jurisdiction(session, "CITY", "Synthville")
        add_jurisdiction(session, "D1", "North District", parent_code="CITY")
        add_jurisdiction(session, "D2", "South District", parent_code="CITY")
        import_lab_rows(session, parse_lab_csv(data, source="labs.csv", today=TODAY), source="labs.csv", sha256="x",
                        actor=Actor("test"))
        for username, (role, code) in ACCOUNTS.items():
            add_user(session, username, PASSWORD, role=role.value, jurisdiction_code=code)
    with write_session(engine) as session:
        cases = session.scalars(select(Case).order_by(Case.id)).all()
        for i, case in enumerate(cases):
            if i % onset_every:
                case.onset_date = case.reported_on - timedelta(days=1 + i % 4)
            if i % 2 == 0:
                case.interviewed_on = case.reported_on + timedelta(days=i % 3)
    engine.dispose()


def add_clusters_and_contacts(url: str) -> None:
    """A venue cluster across both districts, a household in D1, a work setting cluster, and contacts with tasks."""
    from epitrace.domain.identity import Identity
    from epitrace.storage import workbench
    from epitrace.storage.audit import Actor
    from epitrace.storage.colocation import upsert_cluster
    from epitrace.storage.models import Jurisdiction, Place
    from epitrace.storage.scope import EVERYWHERE

    engine = make_engine(url)
    with write_session(engine) as session:
        rows = session.execute(select(Case.id, Jurisdiction.code).join(Jurisdiction, Jurisdiction.id == Case.jurisdiction_id)
                               .order_by(Case.id)).all()
        by_code = {code: [case_id for case_id, j in rows if j == code] for code in ("D1", "D2")}
        d1, d2 = by_code["D1"], by_code["D2"]
        cafe, home = Place(kind="venue", name="Blue Door Café"), Place(kind="home", name="Home of household 7")
        session.add_all([cafe, home])
        session.flush()
        start, end = datetime_(FIRST), datetime_(FIRST + timedelta(days=3))
        upsert_cluster(session, place_id=cafe.id, case_ids={*d1[:3], *d2[:4]}, first_start=start, last_end=end, evidence="e")
        upsert_cluster(session, place_id=home.id, case_ids=set(d1[3:5]), first_start=start, last_end=end, evidence="e")
        source = d1[10]
        for infectee in [*d1[11:13], *d2[10:12]]:
            person = session.get_one(Case, infectee).person_id
            session.add(Contact(person_id=person, case_id=source, setting="work", last_exposure_on=FIRST,
                                identified_on=FIRST))
            session.add(TransmissionLink(infector_case_id=source, infectee_case_id=infectee, certainty="probable",
                                         evidence="named at work", source="contact tracing"))
        for i, case_id in enumerate([*d1[20:26], *d2[20:23]]):
            workbench.record_contact(session, EVERYWHERE, case_id, Identity(f"Contact{i}", "Named", date(1970, 1, 1 + i)),
                                     actor=Actor("test"), setting="household", last_exposure=TODAY - timedelta(days=6),
                                     identified_on=TODAY - timedelta(days=5), confirmed=True)
        session.flush()
        notify = session.scalars(select(Task).where(Task.kind == "notify").order_by(Task.id)).all()
        for task in notify[:5]:
            task.status, task.completed_on = "done", TODAY - timedelta(days=5)
    engine.dispose()


def datetime_(day: date):  # type: ignore[no-untyped-def]
    from datetime import datetime

    return datetime(day.year, day.month, day.day, 12)


@pytest.fixture(scope="module")
def attack_world(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    url = database_url(tmp_path_factory.mktemp('attack'), 'attack')
    build_world(url, {"D1": D1, "D2": D2})
    add_clusters_and_contacts(url)
    engine = make_engine(url)
    yield {"engine": engine, "app": create_app(engine), "url": url}
    engine.dispose()


def client_for(world: dict, username: str) -> TestClient:
    client = TestClient(world["app"], base_url="https://testserver")
    response = client.post("/api/session", json={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return client


def download_everything(client: TestClient) -> dict:
    """Every aggregate the API releases to this account."""
    got: dict = {"curves": {}, "rt": {}}
    for by in ("report", "onset"):
        for interval in ("day", "week"):
            for by_jurisdiction in (False, True):
                response = client.get("/api/analytics/curve", params={"by": by, "interval": interval,
                                                                       "by_jurisdiction": by_jurisdiction})
                assert response.status_code == 200, response.text
                got["curves"][by, interval, by_jurisdiction] = response.json()
        response = client.get("/api/analytics/rt", params={"by": by})
        got["rt"][by] = response.json() if response.status_code == 200 else None
    got["kpis"] = client.get("/api/analytics/kpis").json()  # as of EPITRACE_TODAY
    got["clusters"] = client.get("/api/analytics/clusters").json()
    got["report"] = client.get("/api/reports/report.json").json()
    pdf = client.get("/api/reports/report.pdf")
    assert pdf.status_code == 200 and pdf.content[:5] == b"%PDF-"
    return got


UB = 200  # the attacker's prior bound on any one day's count (the true counts are below 20)


class Attacker:
    """Integer linear constraints on the unknown daily counts of each jurisdiction, solved by MILP.

    Unknowns: the count of each own jurisdiction, basis (report, onset) and day, and each one's
    undated count. Every released number is a linear expression of them: a shown count is an
    equality, "<5" is [1, 4], "x" is at least 5. The attacker also knows that every case has a
    report date and the same cases are counted by onset, and reads Rt's Cori posterior: its shape
    gives each window's sum of cases, its scale each window's sum of infectiousness, a weighted sum
    of all earlier days. A suppressed cell is recovered when its minimum and maximum over all
    integer solutions agree.
    """

    def __init__(self, codes: list[str], days: dict[str, list[date]], *, threshold: int = 5) -> None:
        self.codes, self.days, self.t = codes, days, threshold
        self.index: dict[tuple, int] = {}
        for by, span in days.items():
            for code in codes:
                for day in span:
                    self._var((by, code, day))
                self._var((by, code, None))
        self.rows: list[tuple[dict[int, float], float, float]] = []
        self.targets: dict[str, dict[int, float]] = {}
        self._seen: set[tuple] = set()
        self.soft: list[tuple[dict[int, float], float, float]] = []  # Rt infectiousness: used only if consistent
        for code in codes:  # the same cases by report and by onset; every case has a report date
            expr = {self.index["report", code, d]: 1.0 for d in days["report"]} | {self.index["report", code, None]: 1.0}
            for d in days["onset"]:
                expr[self.index["onset", code, d]] = expr.get(self.index["onset", code, d], 0.0) - 1.0
            expr[self.index["onset", code, None]] = -1.0
            self.rows.append((expr, 0.0, 0.0))
            self.rows.append(({self.index["report", code, None]: 1.0}, 0.0, 0.0))

    def _var(self, key: tuple) -> int:
        return self.index.setdefault(key, len(self.index))

    def cell(self, by: str, codes: list[str], days: list[date] | None) -> dict[int, float]:
        """The expression of a released cell: ``days`` None is the undated count, [] all of them dated and undated."""
        expr: dict[int, float] = {}
        for code in codes:
            keys = ([(by, code, d) for d in self.days[by]] + [(by, code, None)]) if days == [] else \
                [(by, code, None)] if days is None else [(by, code, d) for d in days if d in set(self.days[by])]
            for key in keys:
                expr[self.index[key]] = expr.get(self.index[key], 0.0) + 1.0
        return expr

    def extra(self, name: str) -> dict[int, float]:
        """An unknown count that is not a sum of days (a KPI count, a cluster size)."""
        return {self._var(("extra", name)): 1.0}

    def bound(self, expr: dict[int, float], low: float, high: float) -> None:
        self.rows.append((expr, low, high))

    def observe(self, name: str, expr: dict[int, float], shown: int | str | None) -> None:
        """A released cell: shown exactly, "<5" or "x" (the latter two are targets)."""
        if shown is None:
            return
        if shown in (f"<{self.t}", "x"):
            self.bound(expr, 1.0, self.t - 1.0) if shown != "x" else self.bound(expr, float(self.t), np.inf)
            key = tuple(sorted(expr.items()))  # one cell released in several places is one target
            if key not in self._seen:
                self._seen.add(key)
                self.targets[name] = expr
        else:
            self.bound(expr, float(shown), float(shown))

    def at_least(self, expr: dict[int, float], other: dict[int, float]) -> None:
        merged = dict(expr)
        for k, v in other.items():
            merged[k] = merged.get(k, 0.0) - v
        self.bound(merged, 0.0, np.inf)

    def read_rt(self, rt: dict, codes: list[str], *, by: str = "report", prior_mean: float = 5.0,
                prior_sd: float = 5.0) -> None:
        """Window sums from the posterior shape (exact), infectiousness sums from its scale (kept if consistent)."""
        from epitrace.analytics.rt import discr_si

        first = date.fromisoformat(rt["first_day"])
        span = [d for d in self.days[by] if d >= first]
        w = discr_si(np.arange(len(span) + 1), rt["si_mean"], rt["si_sd"])
        a, b = (prior_mean / prior_sd) ** 2, prior_sd**2 / prior_mean
        for row in rt["data"]:
            s, e = row["t_start"], row["t_end"]
            shape, scale = (row["mean"] / row["std"]) ** 2, row["std"] ** 2 / row["mean"]
            self.rows.append((self.cell(by, codes, span[s - 1:e]), round(shape - a), round(shape - a)))
            expr: dict[int, float] = {}
            for t in range(s, e + 1):  # lambda_t = sum_k w_k I_{t-k}, 1-based days
                for k in range(1, t):
                    for key, coefficient in self.cell(by, codes, [span[t - k - 1]]).items():
                        expr[key] = expr.get(key, 0.0) + coefficient * w[k]
            total = 1 / scale - 1 / b
            self.soft.append((expr, total - 1e-6 * max(1.0, total), total + 1e-6 * max(1.0, total)))

    def _constraints(self, rows):  # type: ignore[no-untyped-def]
        from scipy.optimize import LinearConstraint
        from scipy.sparse import lil_matrix

        a = lil_matrix((len(rows), len(self.index)))
        for i, (expr, _, _) in enumerate(rows):
            for k, v in expr.items():
                a[i, k] = v
        return LinearConstraint(a.tocsr(), [lo for _, lo, _ in rows], [hi for _, _, hi in rows])

    def _solve(self, objective: dict[int, float], rows, sign: float):  # type: ignore[no-untyped-def]
        from scipy.optimize import Bounds, milp

        c = np.zeros(len(self.index))
        for k, v in objective.items():
            c[k] = sign * v
        return milp(c, integrality=np.ones(len(self.index)), bounds=Bounds(0, UB), constraints=self._constraints(rows),
                    options={"disp": False})

    def feasible(self, rows) -> bool:  # type: ignore[no-untyped-def]
        return self._solve({}, rows, 1.0).status == 0

    def run(self) -> tuple[dict[str, tuple[int, int]], bool]:
        """Each target's [min, max] over the integer solutions, and whether Rt's infectiousness sums were usable."""
        rows = self.rows
        assert self.feasible(rows), "the releases contradict each other"
        used_soft = bool(self.soft) and self.feasible(rows + self.soft)
        if used_soft:
            rows = rows + self.soft
        ranges = {}
        for name, expr in self.targets.items():
            low, high = self._solve(expr, rows, 1.0), self._solve(expr, rows, -1.0)
            assert low.status == 0 and high.status == 0, (name, low.message, high.message)
            ranges[name] = (round(low.fun), round(-high.fun))
        return ranges, used_soft


def span_of(curve: dict) -> list[date]:
    return sorted({date.fromisoformat(r["label"]) for r in curve["data"]})


def monday_days(label: str, span: list[date]) -> list[date]:
    year, week = label.split("-W")
    monday = date.fromisocalendar(int(year), int(week), 1)
    return [d for d in span if monday <= d < monday + timedelta(days=7)]


def attacker_for(got: dict, codes: list[str], *, scope_codes: list[str]) -> Attacker:
    """Every constraint the account's downloads give (``codes``: the own jurisdictions in its scope)."""
    days = {by: span_of(got["curves"][by, "day", False]) for by in ("report", "onset")}
    attacker = Attacker(codes, days)
    for (by, interval, by_jurisdiction), curve in got["curves"].items():
        shown_rows = {code for code in codes if any(r.get("jurisdiction") == code for r in curve["data"])}
        if by_jurisdiction:  # a jurisdiction without a row has no dated case
            for code in set(codes) - shown_rows:
                attacker.observe(f"{code} dated {by}", attacker.cell(by, [code], days[by]), 0)
        for row in curve["data"]:
            where = [row["jurisdiction"]] if by_jurisdiction else scope_codes
            cells = [date.fromisoformat(row["label"])] if interval == "day" else monday_days(row["label"], days[by])
            attacker.observe(f"{by} {interval} {'/'.join(where)} {row['label']}", attacker.cell(by, where, cells), row["cases"])
        attacker.observe("total cases", attacker.cell(by, scope_codes, []), curve["total"])
        attacker.observe(f"undated {by}", attacker.cell(by, scope_codes, None), curve["undated"])
    for by, rt in got["rt"].items():
        if rt is not None:
            attacker.read_rt(rt, scope_codes, by=by)
    report = got.get("report") or {"total_cases": None, "curve": {"data": []}, "rt": {"data": []}, "kpis": [], "clusters": []}
    attacker.observe("total cases", attacker.cell("report", scope_codes, []), report["total_cases"])
    for row in report["curve"]["data"]:
        attacker.observe(f"report day {row['label']}", attacker.cell("report", scope_codes, [date.fromisoformat(row["label"])]),
                         row["cases"])
    if report["rt"]["data"]:
        attacker.read_rt(report["rt"], scope_codes)
    for source, rows in (("kpis", got.get("kpis", {"data": []})["data"]), ("report kpis", report["kpis"])):
        for row in rows:
            den = attacker.cell("report", scope_codes, []) if "known contacts" in row["kpi"] else attacker.extra(f"den {row['kpi']}")
            attacker.observe(f"{source}: denominator of {row['kpi']}", den, row["denominator"])
            if row["numerator"] is not None:
                num = attacker.extra(f"num {row['kpi']}")
                attacker.observe(f"{source}: numerator of {row['kpi']}", num, row["numerator"])
                attacker.at_least(den, num)
                if row["value"] is not None and isinstance(row["denominator"], int):
                    n = round(row["value"] * row["denominator"])
                    attacker.observe(f"{source}: numerator of {row['kpi']}", num, n)
    for source, rows in (("clusters", got.get("clusters", {"data": []})["data"]), ("report clusters", report["clusters"])):
        for row in rows:
            size = attacker.extra(f"cluster {row['kind']} {row['where']} {row['first']}")
            attacker.observe(f"{source}: size of {row['where']}", size, row["cases"])
            if row["kind"] == "setting":  # its cases were reported between first and last
                first, last = date.fromisoformat(row["first"]), date.fromisoformat(row["last"])
                window = [d for d in days["report"] if first <= d <= last]
                attacker.at_least(attacker.cell("report", scope_codes, window), size)
                for d in {first, last}:
                    attacker.bound(attacker.cell("report", scope_codes, [d]), 1.0, np.inf)
    return attacker


def old_release(engine, scope_codes: list[str]) -> dict:  # type: ignore[no-untyped-def]
    """What the API released before issue 9: each view suppressed alone, Rt from the true counts."""
    import polars as pl

    from epitrace.analytics.curves import epicurve
    from epitrace.analytics.defaults import DEFAULT_SI_MEAN, DEFAULT_SI_SD
    from epitrace.analytics.rt import rt_from_daily_counts
    from epitrace.domain.privacy import suppress_small
    from epitrace.storage.analytics import cases_frame
    from epitrace.storage.db import read_session
    from epitrace.storage.scope import EVERYWHERE

    with read_session(engine) as session:
        cases = cases_frame(session, EVERYWHERE).filter(pl.col("jurisdiction").is_in(scope_codes))
    got: dict = {"curves": {}, "rt": {}}
    for by in ("report", "onset"):
        for interval in ("day", "week"):
            for by_jurisdiction in (False, True):
                table = epicurve(cases, by=by, interval=interval, by_jurisdiction=by_jurisdiction)  # type: ignore[arg-type]
                got["curves"][by, interval, by_jurisdiction] = {
                    "total": None, "undated": None,
                    "data": [{**r, "cases": suppress_small(r["cases"])} for r in table.drop("period").iter_rows(named=True)]}
    daily = epicurve(cases, by="report")
    got["rt"]["report"] = {"first_day": daily["period"][0].isoformat(), "si_mean": DEFAULT_SI_MEAN, "si_sd": DEFAULT_SI_SD,
                           "data": rt_from_daily_counts(daily["cases"]).to_dicts()}  # type: ignore[union-attr]
    return got


@pytest.fixture(scope="module")
def downloads(attack_world) -> dict:  # type: ignore[no-untyped-def]
    """Everything each account can download, once per module."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("EPITRACE_TODAY", TODAY.isoformat())
        return {user: download_everything(client_for(attack_world, user)) for user in ("epi-city", "epi-d1")}


SCOPES = {"epi-city": ["CITY", "D1", "D2"], "epi-d1": ["D1"]}


@pytest.mark.parametrize(("user", "withheld"), [("epi-city", 50), ("epi-d1", 25)])
def test_reconstruction_attack_recovers_no_suppressed_cell_9(downloads, user: str, withheld: int) -> None:
    ranges, used_infectiousness = attacker_for(downloads[user], SCOPES[user], scope_codes=SCOPES[user]).run()
    recovered = {name: r for name, r in ranges.items() if r[0] == r[1]}
    print(f"{user}: {len(ranges)} suppressed cells, {len(recovered)} recovered; Rt infectiousness used: {used_infectiousness}")
    assert len(ranges) >= withheld  # plenty to protect: "<5" days, their complements, KPI counts, cluster sizes
    assert recovered == {}


@pytest.mark.parametrize(("user", "at_least"), [("epi-city", 25), ("epi-d1", 3)])
def test_the_same_attacker_breaks_the_old_release_9(attack_world, user: str, at_least: int) -> None:
    """The attacker has teeth: each view suppressed alone and Rt from true counts gave cells away."""
    ranges, _ = attacker_for(old_release(attack_world["engine"], SCOPES[user]), SCOPES[user], scope_codes=SCOPES[user]).run()
    recovered = [name for name, r in ranges.items() if r[0] == r[1]]
    print(f"{user}, old release: {len(ranges)} suppressed cells, {len(recovered)} recovered")
    assert len(recovered) >= at_least, recovered


def test_views_of_one_cell_agree_across_accounts_9(downloads) -> None:
    city = {(r["jurisdiction"], r["label"]): r["cases"] for r in downloads["epi-city"]["curves"]["report", "day", True]["data"]}
    district = {r["label"]: r["cases"] for r in downloads["epi-d1"]["curves"]["report", "day", False]["data"]}
    assert {label: city["D1", label] for label in district} == district


def released_frame(curve: dict):  # type: ignore[no-untyped-def]
    """A released curve rebuilt from its JSON alone."""
    import polars as pl

    rows = []
    for r in curve["data"]:
        label, cases = r["label"], r["cases"]
        period = date.fromisocalendar(int(label[:4]), int(label[6:]), 1) if "-W" in label else date.fromisoformat(label)
        status = "released" if isinstance(cases, int) else "primary" if cases.startswith("<") else "secondary"
        rows.append((period, cases if isinstance(cases, int) else None, status))
    return pl.DataFrame(rows, schema={"period": pl.Date, "cases": pl.Int64, "status": pl.String}, orient="row")


@pytest.mark.parametrize("user", ["epi-city", "epi-d1"])
def test_rt_is_computed_from_the_released_curve_alone_9(downloads, user: str) -> None:
    """Anyone can recompute the published Rt from the released curve: it adds nothing to it."""
    from epitrace.analytics.release import released_rt

    got = downloads[user]
    rt = got["rt"]["report"]
    frame, withheld = released_rt(released_frame(got["curves"]["report", "day", False]),
                                  released_frame(got["curves"]["report", "week", False]), threshold=5,
                                  si_mean=rt["si_mean"], si_sd=rt["si_sd"])
    assert frame is not None and frame.to_dicts() == rt["data"] and withheld == rt["withheld_windows"]
    if user == "epi-city":
        assert len(rt["data"]) == 9  # every city day is large enough
    else:
        assert rt["data"] == [] and withheld == 9  # every D1 week has a suppressed day


def aggregate_entries(engine) -> list[AuditEvent]:  # type: ignore[no-untyped-def]
    with write_session(engine) as session:
        return list(session.scalars(select(AuditEvent).order_by(AuditEvent.id)))


def page_client(world: dict, username: str) -> TestClient:
    client = TestClient(world["app"], base_url="https://testserver", follow_redirects=False)
    assert client.post("/login", data={"username": username, "password": PASSWORD, "next": "/dashboard"}).status_code == 303
    return client


@pytest.mark.parametrize("user", ["epi-d1", "tracer-d1"])
def test_a_district_report_holds_only_its_cases_9(attack_world, monkeypatch, tmp_path: Path, user: str) -> None:
    import polars as pl

    from epitrace.storage.analytics import cases_frame
    from epitrace.storage.scope import EVERYWHERE

    monkeypatch.setenv("EPITRACE_TODAY", TODAY.isoformat())
    with write_session(attack_world["engine"]) as session:
        cases = cases_frame(session, EVERYWHERE)
    in_d1, everywhere = cases.filter(pl.col("jurisdiction") == "D1").height, cases.height
    assert (in_d1, everywhere) == (sum(D1), sum(D1) + sum(D2))
    client = client_for(attack_world, user)
    before = len(aggregate_entries(attack_world["engine"]))
    pdf = client.get("/api/reports/report.pdf")
    assert pdf.status_code == 200 and pdf.content[:5] == b"%PDF-"
    entry = aggregate_entries(attack_world["engine"])[before:]
    assert [(e.action, e.record_type, e.record_id) for e in entry] == [
        ("report", "aggregate", f"report by report date as of {TODAY} of D1")]
    data = client.get("/api/reports/report.json").json()
    assert data["jurisdiction"] == "D1" and data["total_cases"] == in_d1
    counted = [r["cases"] for r in data["curve"]["data"]]
    assert sum(c for c in counted if isinstance(c, int)) + 4 * counted.count("<5") + 13 * counted.count("x") >= in_d1
    assert sum(c for c in counted if isinstance(c, int)) < in_d1 < everywhere
    assert [c["cases"] for c in data["clusters"] if c["where"] == "Blue Door Café"] == ["<5"]  # 3 of its 7 cases
    if user == "epi-d1":  # the same report written by the command line for D1 counts the same cases
        from typer.testing import CliRunner

        from epitrace.cli import app

        monkeypatch.setenv("EPITRACE_DATABASE_URL", attack_world["url"])
        result = CliRunner().invoke(app, ["report", "--out", str(tmp_path / "d1"), "--jurisdiction", "D1"],
                                    catch_exceptions=False)
        assert result.exit_code == 0, result.output
        html = (tmp_path / "d1" / "report.html").read_text(encoding="utf-8")
        assert f"D1, as of {TODAY}. {in_d1} cases in all." in html
        assert json.loads((tmp_path / "d1" / "report.json").read_text())["curve"] == data["curve"]


def test_every_aggregate_read_writes_exactly_one_audit_entry_and_the_chain_verifies(attack_world, monkeypatch) -> None:
    from typer.testing import CliRunner

    from epitrace.cli import app

    monkeypatch.setenv("EPITRACE_TODAY", TODAY.isoformat())
    api, page = client_for(attack_world, "epi-city"), page_client(attack_world, "epi-city")
    reads = [(api, "/api/analytics/curve?by_jurisdiction=true&interval=week", "curve by report date/week/jurisdiction"),
             (api, "/api/analytics/rt", "rt by report date"),
             (api, "/api/analytics/kpis", f"kpis as of {TODAY}"),
             (api, "/api/analytics/clusters", "clusters"),
             (api, "/api/reports/report.json", f"report data by report date as of {TODAY}"),
             (api, "/api/reports/report.pdf", f"report by report date as of {TODAY}"),
             (page, "/dashboard", f"dashboard by report date as of {TODAY}")]
    for client, path, what in reads:
        before = len(aggregate_entries(attack_world["engine"]))
        assert client.get(path).status_code == 200, path
        new = aggregate_entries(attack_world["engine"])[before:]
        assert [(e.actor, e.action, e.record_type, e.record_id, e.person_id, e.purpose) for e in new] == [
            ("user:epi-city", "report", "aggregate", f"{what} of all jurisdictions", None, "surveillance")], path
    monkeypatch.setenv("EPITRACE_DATABASE_URL", attack_world["url"])
    runner = CliRunner()
    for command in (["curve"], ["kpis"], ["curve", "--jurisdiction", "D2", "--by", "onset"]):
        before = len(aggregate_entries(attack_world["engine"]))
        assert runner.invoke(app, command, catch_exceptions=False).exit_code == 0
        assert len(aggregate_entries(attack_world["engine"])) == before + 1
    assert aggregate_entries(attack_world["engine"])[-1].record_id == "curve by onset date/day of D2"
    verify = runner.invoke(app, ["audit", "verify"], catch_exceptions=False)
    assert verify.exit_code == 0 and "entries verify" in verify.output


def test_aggregates_require_a_scope_and_an_actor(attack_world) -> None:
    from epitrace.errors import InputError
    from epitrace.storage import aggregates
    from epitrace.storage.audit import Actor
    from epitrace.storage.models import Jurisdiction
    from epitrace.storage.scope import EVERYWHERE, Scope

    with write_session(attack_world["engine"]) as session:
        with pytest.raises(TypeError, match="a Scope is required"):
            aggregates.curve(session, None, actor=Actor("t"))  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="an audit Actor is required"):
            aggregates.kpis(session, EVERYWHERE, actor="t", today=TODAY)  # type: ignore[arg-type]
        city = session.scalar(select(Jurisdiction.id).where(Jurisdiction.code == "CITY"))
        with pytest.raises(InputError, match="one jurisdiction and everything below it"):
            aggregates.curve(session, Scope(frozenset({city})), actor=Actor("t"))


def test_a_three_case_database_shows_no_3_in_kpis_9(tmp_path: Path, monkeypatch) -> None:
    from typer.testing import CliRunner

    from epitrace.cli import app

    url = database_url(tmp_path, 'three')
    build_world(url, {"D1": [2, 0, 1]})
    monkeypatch.setenv("EPITRACE_TODAY", TODAY.isoformat())
    monkeypatch.setenv("EPITRACE_DATABASE_URL", url)
    engine = make_engine(url)
    world = {"app": create_app(engine)}
    for user in ("epi-city", "epi-d1"):
        kpis = client_for(world, user).get("/api/analytics/kpis").json()["data"]
        shown = [(r["value"], r["numerator"], r["denominator"]) for r in kpis]
        assert shown == [(None, None, "<5"), (None, None, "<5"), (None, 0, 0), (None, 0, 0), (None, 0, "<5")], user
        report = client_for(world, user).get("/api/reports/report.json").json()
        assert report["kpis"] == kpis and report["total_cases"] == "<5"
        assert "3" not in json.dumps([[r["value"], r["numerator"], r["denominator"]] for r in report["kpis"]])
        dashboard = page_client(world, user).get("/dashboard").text
        assert "&lt;5 case(s) in your jurisdiction" in dashboard
        table = dashboard[dashboard.index("<h2>KPIs</h2>"):]
        assert '<td class="num">3</td>' not in table and "67%" not in table and "33%" not in table
    lines = CliRunner().invoke(app, ["kpis", "--format", "csv"], catch_exceptions=False).stdout.splitlines()
    assert [line.split(",")[1:4] for line in lines[1:]] == [["", "", "<5"], ["", "", "<5"], ["", "0", "0"], ["", "0", "0"],
                                                            ["", "0", "<5"]]
    engine.dispose()


def test_report_command_honours_epitrace_today(attack_world, monkeypatch, tmp_path: Path) -> None:
    """The demo's "today" (EPITRACE_TODAY) is the report's, so its KPIs are the dashboard's (issue 9, point 7)."""
    from typer.testing import CliRunner

    from epitrace.cli import app

    demo_today = "2026-03-16"  # the contacts' test tasks (due 2026-03-18) are not due yet; by the real date they are
    monkeypatch.setenv("EPITRACE_TODAY", demo_today)
    monkeypatch.setenv("EPITRACE_DATABASE_URL", attack_world["url"])
    result = CliRunner().invoke(app, ["report", "--out", str(tmp_path / "r")], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    data = json.loads((tmp_path / "r" / "report.json").read_text())
    assert data["today"] == demo_today
    assert f"as of {demo_today}." in (tmp_path / "r" / "report.html").read_text(encoding="utf-8")
    tested = {r["kpi"]: r for r in data["kpis"]}["share of contacts tested by the due date"]
    assert (tested["numerator"], tested["denominator"]) == (0, 0)
    assert data["kpis"] == client_for(attack_world, "epi-city").get("/api/analytics/kpis").json()["data"]
    dashboard = page_client(attack_world, "epi-city").get("/dashboard").text
    assert "<td>share of contacts tested by the due date</td><td class=\"num\">n/a</td><td class=\"num\">0</td>" in dashboard
    kpis = CliRunner().invoke(app, ["kpis"], catch_exceptions=False)
    assert json.loads(kpis.stdout) == data["kpis"]


@pytest.mark.parametrize("module", ["epitrace.analytics.release", "epitrace.analytics.curves"])
def test_docstring_examples_run(module: str) -> None:
    import doctest
    import importlib

    failures, tried = doctest.testmod(importlib.import_module(module))
    assert tried > 0 and failures == 0


def statuses(values: dict, relations: list) -> dict[str, str]:
    return {k: v.value for k, v in protect(values, relations, threshold=5).items()}


def test_a_lone_small_cell_gets_a_complement_that_can_move() -> None:
    # 1 + 5 = 6 would pin both (the "x" is at least 5, the "<5" at least 1), so the total goes instead.
    got = statuses({"T": 16, "a": 1, "b": 5, "c": 5, "d": 5}, [("T", ["a", "b", "c", "d"])])
    assert got == {"T": "secondary", "a": "primary", "b": "secondary", "c": "released", "d": "released"}
    # Two "<5" that add up to 8 are both 4: the total is withheld.
    assert statuses({"T": 8, "a": 4, "b": 4}, [("T", ["a", "b"])]) == {"T": "secondary", "a": "primary", "b": "primary"}
    # Zeros identify nobody and are never withheld.
    assert statuses({"T": 7, "a": 0, "b": 3, "c": 4}, [("T", ["a", "b", "c"])]) == {
        "T": "released", "a": "released", "b": "primary", "c": "primary"}


def test_protect_refuses_tables_that_do_not_add_up() -> None:
    with pytest.raises(ValueError, match="does not add up: 9 != sum of parts 8"):
        protect({"T": 9, "a": 4, "b": 4}, [("T", ["a", "b"])])
    with pytest.raises(ValueError, match="names cells without a count"):
        protect({"T": 9}, [("T", ["a"])])


def milp_ranges(values: dict, relations: list, status: dict, *, threshold: int = 5) -> dict:
    """An exact integer attacker on a table: each withheld cell's [min, max] given everything released."""
    from scipy.optimize import Bounds, LinearConstraint, milp

    keys = sorted(values, key=repr)
    index = {k: i for i, k in enumerate(keys)}
    a = np.zeros((len(relations), len(keys)))
    for row, (total, parts) in enumerate(relations):
        a[row, index[total]] = 1
        for p in parts:
            a[row, index[p]] -= 1
    low = np.array([values[k] if status[k] == "released" else 1 if status[k] == "primary" else threshold for k in keys], float)
    high = np.array([values[k] if status[k] == "released" else threshold - 1 if status[k] == "primary" else 10_000
                     for k in keys], float)
    ranges = {}
    for k in keys:
        if status[k] == "released":
            continue
        c = np.zeros(len(keys))
        c[index[k]] = 1
        found = [milp(sign * c, integrality=np.ones(len(keys)), bounds=Bounds(low, high),
                      constraints=LinearConstraint(a, 0, 0)) for sign in (1, -1)]
        assert all(f.status == 0 for f in found)
        ranges[k] = (round(found[0].fun), round(-found[1].fun))
    return ranges


def test_no_withheld_cell_of_random_two_way_tables_is_pinned() -> None:
    rng = np.random.default_rng(9)
    withheld = 0
    for _ in range(25):
        rows, cols = int(rng.integers(2, 5)), int(rng.integers(3, 8))
        kind = rng.random((rows, cols))
        inner = np.where(kind < 0.2, 0, np.where(kind < 0.55, rng.integers(1, 5, (rows, cols)), rng.integers(5, 31, (rows, cols))))
        values = {(r, c): int(inner[r, c]) for r in range(rows) for c in range(cols)}
        values |= {(r, "all"): int(inner[r].sum()) for r in range(rows)}
        values |= {("all", c): int(inner[:, c].sum()) for c in range(cols)} | {("all", "all"): int(inner.sum())}
        relations = [((r, "all"), [(r, c) for c in range(cols)]) for r in range(rows)]
        relations += [(("all", c), [(r, c) for r in range(rows)]) for c in range(cols)]
        relations += [(("all", "all"), [("all", c) for c in range(cols)])]
        status = {k: v.value for k, v in protect(values, relations, threshold=5).items()}
        assert all(status[k] == "primary" for k, v in values.items() if 0 < v < 5)
        ranges = milp_ranges(values, relations, status)
        withheld += len(ranges)
        assert {k: r for k, r in ranges.items() if r[0] == r[1]} == {}, (inner, status)
    assert withheld > 100
