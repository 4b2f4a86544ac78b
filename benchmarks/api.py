"""Latency of the tracer and supervisor API on a city-sized line list in SQLite or PostgreSQL.

Usage:
    python benchmarks/api.py --persons 300000
    python benchmarks/api.py --persons 300000 --explain    # also print each slow request's SQL and plan
    python benchmarks/api.py --persons 300000 --db /tmp/api.db   # keep the database for a closer look
    python benchmarks/api.py --persons 300000 --analyze  # with planner statistics (the service never runs ANALYZE)
    python benchmarks/api.py --persons 300000 --backend postgresql   # on a throw-away PostgreSQL server
    python benchmarks/api.py --persons 300000 --database-url postgresql+psycopg://user@host/empty_db

``--backend postgresql`` starts a throw-away server from Debian's binaries (benchmarks/_postgres.py,
with durability on, as SQLite has it) and builds the line list in a new database there;
``--database-url`` builds it in the empty database you name (SQLite or PostgreSQL) and keeps it.
On PostgreSQL the line list is loaded with COPY and then ANALYZEd, as autovacuum would do within a
minute of such a load in service.

Builds a fresh database (CITY > D1..D4) and bulk-loads a line list: persons, cases over 60 days,
contacts and their follow-up tasks (about 10 per contact). Then times API requests and the staff
pages (case queue, task board, person search, with filters, sorts and paging: issue 9) through
`TestClient` with a Bearer token, for a tracer in D1 and a supervisor in CITY: median and 95th
percentile over --reps repetitions after one warm-up. Every request also appends audit entries, so
the audit table grows during the run, as it does in service. The count column is the API's
``count``, or for a page the "shown/total" of each list on it.

The floor, measured in the same run: the first page of cases (50) fetched with one raw SQL query
through the same driver (`sqlite3` on the same file, `psycopg` on PostgreSQL), for the same account's
jurisdictions (the faster of the query as planned and the same query with ``+`` on the jurisdiction
column, which keeps the planner off the jurisdiction index, so SQLite walks the reported_on index;
both are printed). The ratio
floor/median is the share of a request that fetching one page of rows explains (1.00 = no overhead).
`GET /api/me` is timed too, as a reference: token check and one transaction, no personal data;
"x me" is each median over its median, the request overhead on a machine shared with others.
"""

from __future__ import annotations

import argparse
import itertools
import os
import re
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

import numpy as np
from sqlalchemy import Engine, event, make_url

from epitrace.domain.identity import name_key, normalise_name, normalise_phone
from epitrace.storage.db import make_engine, write_session
from epitrace.storage.migrate import upgrade

START = date(2026, 3, 1)
DAYS = 60
LAST_DAY = START + timedelta(days=DAYS - 1)
DISTRICTS = {"D1": "North District", "D2": "South District", "D3": "East District", "D4": "West District"}
DISTRICT_SHARE = [0.30, 0.25, 0.25, 0.20]
PASSWORD = "benchmark passphrase, not a secret"
BATCH = 50_000
SLOW_MS = 100.0
PHONE_SPELLINGS = ("+316{:04d}{:04d}", "+31 6 {:04d} {:04d}", "+31 (6) {:04d}-{:04d}")


# --- the line list ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Probes:
    """Records the timed requests ask for, chosen from the generated data."""

    case_id: int
    person_id: int
    phone: str
    family_prefix: str
    full_name: tuple[str, str]  # the commonest given and family name in D1
    counts: dict[str, int]

    @property
    def phone_respelled(self) -> str:
        """The probe phone spelled another way ("+316-667-731-82"): search must find it all the same."""
        digits = "".join(c for c in self.phone if c.isdigit())
        return "+" + "-".join(digits[i:i + 3] for i in range(0, len(digits), 3))


def _iso_days(offsets: np.ndarray) -> list[str]:
    """ISO dates (as SQLAlchemy's SQLite Date type stores them) for day offsets from START."""
    lo, hi = int(offsets.min()), int(offsets.max())
    table = np.array([(START + timedelta(days=d)).isoformat() for d in range(lo, hi + 1)], dtype=object)
    return table[offsets - lo].tolist()


def _stamp(day: int, seconds: int) -> str:
    """A naive-UTC DateTime as SQLAlchemy stores it on SQLite."""
    moment = datetime.combine(START, datetime.min.time()) + timedelta(days=day, seconds=seconds)
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")


class RawDatabase:
    """One raw DB-API connection to the benchmark's database, through the driver epitrace uses:
    ``sqlite3`` for SQLite, ``psycopg`` for PostgreSQL. SQL is written with ``?`` placeholders."""

    def __init__(self, url: str, *, autocommit: bool = True) -> None:
        parsed = make_url(url)
        self.postgres = parsed.get_backend_name() == "postgresql"
        self.path = None if self.postgres else Path(parsed.database or "")
        self.conn: Any
        if self.postgres:
            import psycopg

            self.conn = psycopg.connect(parsed.set(drivername="postgresql").render_as_string(hide_password=False),
                                        autocommit=autocommit)
        else:
            self.conn = sqlite3.connect(parsed.database, isolation_level=None if autocommit else "DEFERRED")

    def sql(self, sql: str) -> str:
        return sql.replace("?", "%s") if self.postgres else sql

    def rows(self, sql: str, params: tuple | list = ()) -> list[tuple]:
        # Without parameters nothing is parsed for placeholders (psycopg would read LIKE's % as one).
        return (self.conn.execute(self.sql(sql), params) if params else self.conn.execute(sql)).fetchall()

    def one(self, sql: str, params: tuple | list = ()) -> Any:
        return self.rows(sql, params)[0][0]

    def size_mib(self, *, with_wal: bool = False) -> float:
        """The database's size: the SQLite file (and its WAL), or PostgreSQL's pg_database_size."""
        if self.postgres:
            return self.one("SELECT pg_database_size(current_database())") / 2**20
        assert self.path is not None
        wal = Path(f"{self.path}-wal")
        return (self.path.stat().st_size + (wal.stat().st_size if with_wal and wal.exists() else 0)) / 2**20

    def version(self) -> str:
        if self.postgres:
            return "PostgreSQL " + self.one("SHOW server_version").split()[0]
        return f"SQLite {sqlite3.sqlite_version}"

    def close(self) -> None:
        self.conn.close()


def _insert_columns(db: RawDatabase, table: str, columns: dict[str, list]) -> None:
    """Whole columns into ``table``: executemany BATCH rows at a time on SQLite, one COPY on PostgreSQL."""
    names = list(columns)
    rows = zip(*columns.values())
    if db.postgres:
        with db.conn.cursor().copy(f"COPY {table} ({', '.join(names)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    sql = f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"
    while batch := list(itertools.islice(rows, BATCH)):
        db.conn.executemany(sql, batch)


def _names(rng: np.random.Generator, n: int, female: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Given and family names from the synthetic city's naming cultures, popular names more often."""
    from epitrace.synth._names import CULTURES

    shares = np.array([c.share for c in CULTURES])
    culture = rng.choice(len(CULTURES), size=n, p=shares / shares.sum())
    given = np.empty(n, dtype=object)
    family = np.empty(n, dtype=object)
    for i, c in enumerate(CULTURES):
        rows = np.flatnonzero(culture == i)
        for pool, mask in ((c.female, female[rows]), (c.male, ~female[rows])):
            pick = rows[mask]
            weights = 1 / np.arange(1, len(pool) + 1) ** 0.8
            given[pick] = np.array(pool, dtype=object)[rng.choice(len(pool), size=len(pick), p=weights / weights.sum())]
        weights = 1 / np.arange(1, len(c.family) + 1) ** 0.8
        picked = rng.choice(len(c.family), size=len(rows), p=weights / weights.sum())
        family[rows] = np.array(c.family, dtype=object)[picked]
    return given, family


def generate(url: str, *, persons: int, cases: int, contacts: int, seed: int) -> None:
    """Bulk-load the line list in one transaction on one connection (the schema already exists):
    executemany on SQLite, COPY on PostgreSQL."""
    rng = np.random.default_rng(seed)
    db = RawDatabase(url, autocommit=not make_url(url).get_backend_name() == "postgresql")
    conn = db.conn
    if not db.postgres:
        conn.execute("PRAGMA cache_size = -262144")  # 256 MiB: index maintenance of 1.5 M tasks stays in memory
        conn.execute("PRAGMA synchronous = OFF")
        conn.execute("BEGIN IMMEDIATE")
    jurisdictions = dict(db.rows("SELECT code, id FROM jurisdiction"))
    district_ids = np.array([jurisdictions[code] for code in DISTRICTS])
    profile_id = db.one("SELECT id FROM disease_profile WHERE name = 'respiratory'")
    from epitrace.synth._names import STREETS

    # Persons.
    female = rng.random(persons) < 0.5
    given, family = _names(rng, persons, female)
    keys = lru_cache(maxsize=None)(name_key)
    family_keys = lru_cache(maxsize=None)(normalise_name)
    person_district = rng.choice(len(DISTRICTS), size=persons, p=DISTRICT_SHARE)
    phones = rng.choice(10**8, persons, replace=False).tolist()
    national_ids = (rng.choice(9 * 10**8, persons, replace=False) + 10**8).tolist()
    # Phones as people write them: a third each "+31612345678", "+31 6 1234 5678" and "+31 (6) 1234-5678".
    spelling = rng.integers(0, 3, persons).tolist()
    phone_column = [PHONE_SPELLINGS[k].format(n // 10**4, n % 10**4) if has else None for n, k, has in
                    zip(phones, spelling, (rng.random(persons) < 0.9).tolist())]
    columns = {
        "id": range(1, persons + 1),
        "given_name": given.tolist(),
        "family_name": family.tolist(),
        "name_key": [keys(g, f) for g, f in zip(given.tolist(), family.tolist())],
        "family_key": [family_keys(f) for f in family.tolist()],
        "date_of_birth": _iso_days(rng.integers(-95 * 365, -365, persons)),
        "sex": np.where(female, "female", "male").tolist(),
        "phone": phone_column,
        "phone_key": [normalise_phone(p) for p in phone_column],
        "national_id": [f"NL{n}" if has else None for n, has in zip(national_ids, (rng.random(persons) < 0.6).tolist())],
        "address": [f"{STREETS[s]} {h}, Synthville" for s, h in
                    zip(rng.integers(0, len(STREETS), persons).tolist(), rng.integers(1, 200, persons).tolist())],
        "jurisdiction_id": district_ids[person_district].tolist(),
        "created_at": [_stamp(-30, 0)] * persons,
    }
    _insert_columns(db, "person", columns)

    # Cases: an epidemic growing over the 60 days; each in its person's district.
    case_person = rng.choice(persons, size=cases, replace=False)
    day_weights = np.exp(0.04 * np.arange(DAYS))
    reported = np.sort(rng.choice(DAYS, size=cases, p=day_weights / day_weights.sum()))
    case_district = person_district[case_person]
    specimen = reported - rng.integers(1, 3, cases)
    onset = specimen - rng.integers(0, 5, cases)
    onset_known = (rng.random(cases) < 0.8).tolist()
    interviewed = reported + rng.integers(0, 3, cases)
    interviewed_known = (interviewed <= DAYS - 1) & (rng.random(cases) < 0.92)
    reported_iso = _iso_days(reported)
    columns = {
        "id": range(1, cases + 1),
        "person_id": (case_person + 1).tolist(),
        "jurisdiction_id": district_ids[case_district].tolist(),
        "profile_id": [profile_id] * cases,
        "status": rng.choice(np.array(["confirmed", "probable", "suspected", "discarded"], dtype=object), size=cases,
                             p=[0.75, 0.12, 0.08, 0.05]).tolist(),
        "onset_date": [d if known else None for d, known in zip(_iso_days(onset), onset_known)],
        "specimen_date": _iso_days(specimen),
        "isolation_date": [d if known else None for d, known in zip(_iso_days(onset + 1), onset_known)],
        "reported_on": reported_iso,
        "interviewed_on": [d if known else None for d, known in zip(_iso_days(interviewed), interviewed_known.tolist())],
        "closed_on": [d if day < DAYS else None for d, day in zip(_iso_days(reported + 14), (reported + 14).tolist())],
        "created_at": [_stamp(day, 9 * 3600 + i % 30_000) for i, day in enumerate(reported.tolist())],
    }
    _insert_columns(db, "case_record", columns)

    # Contacts: mostly in the case's own district; unique per (case, person), never the case's own person.
    by_district = [np.flatnonzero(person_district == d) for d in range(len(DISTRICTS))]
    draw = int(contacts * 1.05) + 100
    contact_case = rng.integers(0, cases, draw)
    elsewhere = rng.integers(0, len(DISTRICTS), draw)
    contact_district = np.where(rng.random(draw) < 0.8, case_district[contact_case], elsewhere)
    contact_person = np.empty(draw, dtype=np.int64)
    for d, pool in enumerate(by_district):
        rows = np.flatnonzero(contact_district == d)
        contact_person[rows] = pool[rng.integers(0, len(pool), len(rows))]
    _, first = np.unique(contact_case.astype(np.int64) * (persons + 1) + contact_person, return_index=True)
    keep = np.sort(first[contact_person[first] != case_person[contact_case[first]]])[:contacts]
    order = np.lexsort((contact_person[keep], contact_case[keep]))
    contact_case, contact_person, contact_district = (
        a[keep][order] for a in (contact_case, contact_person, contact_district))
    n_contacts = len(contact_case)
    identified = np.minimum(reported[contact_case] + rng.integers(0, 3, n_contacts), DAYS - 1)
    last_exposure = identified - rng.integers(0, 13, n_contacts)  # identified 0-12 days after the last exposure
    checks_until = last_exposure + 14
    settings = np.array(["household", "work", "school", "social", "healthcare"], dtype=object)
    setting = settings[rng.choice(len(settings), size=n_contacts, p=[0.35, 0.25, 0.15, 0.2, 0.05])].tolist()
    identified_iso, exposure_iso = _iso_days(identified), _iso_days(last_exposure)
    columns = {
        "id": range(1, n_contacts + 1),
        "person_id": (contact_person + 1).tolist(),
        "case_id": (contact_case + 1).tolist(),
        "setting": setting,
        "relationship": ["household member" if s == "household" else None for s in setting],
        "last_exposure_on": exposure_iso,
        "identified_on": identified_iso,
        "status": np.where(rng.random(n_contacts) < 0.03, "became_case",
                           np.where(checks_until < DAYS - 1, "completed", "active")).tolist(),
        "created_at": [_stamp(day, 10 * 3600) for day in identified.tolist()],
    }
    _insert_columns(db, "contact", columns)

    # Tasks: an interview per case; per contact a notification, a test and daily symptom checks.
    per_contact = 2 + np.maximum(checks_until - identified, 0)
    owner = np.repeat(np.arange(n_contacts), per_contact)
    position = np.arange(len(owner)) - np.repeat(np.cumsum(per_contact) - per_contact, per_contact)
    n_tasks = cases + len(owner)
    after = np.where(position == 0, 1, np.where(position == 1, 3, position - 1))  # notify +1, test +3, checks daily
    due = np.concatenate([reported + 1, identified[owner] + after])
    # Past tasks are mostly done; some stay open (overdue) and a few are cancelled. Future ones are open.
    outcome = rng.random(n_tasks)
    past = np.where(outcome < 0.86, "done", np.where(outcome < 0.96, "open", "cancelled"))
    status = np.where(due > DAYS - 1, "open", past)
    status[:cases] = np.where(interviewed_known, "done", "open")
    completed = np.minimum(due + (outcome < 0.5), DAYS - 1)
    completed[:cases] = np.minimum(interviewed, DAYS - 1)
    kind = ["interview"] * cases + np.where(position == 0, "notify", np.where(position == 1, "test", "symptom_check")).tolist()
    done = (status == "done").tolist()
    status, due_iso, completed_iso = status.tolist(), _iso_days(due), _iso_days(completed)
    results = {"interview": "interviewed", "notify": "reached by phone", "test": "negative", "symptom_check": "no symptoms"}
    owner_list, until_iso = owner.tolist(), _iso_days(checks_until)
    exposure = [f"{s} contact of case {c}, last exposed {e}" for s, c, e in
                zip(setting, (contact_case + 1).tolist(), exposure_iso)]
    reason = [f"Positive test reported {r}; interview within 1 day(s) of the result (by {d})"
              for r, d in zip(reported_iso, due_iso[:cases])]
    for j, c in enumerate(owner_list):
        k, t = kind[cases + j], cases + j
        if k == "notify":
            reason.append(f"Tell the contact they were exposed: {exposure[c]}")
        elif k == "test":
            reason.append(f"Test within 3 days of being identified (by {due_iso[t]}) because of exposure: {exposure[c]}")
        else:
            reason.append(f"Daily symptom check until {until_iso[c]} because of exposure: {exposure[c]}")
    columns = {
        "id": range(1, n_tasks + 1),
        "kind": kind,
        "person_id": (case_person + 1).tolist() + (contact_person[owner] + 1).tolist(),
        "case_id": list(range(1, cases + 1)) + [None] * len(owner),
        "contact_id": [None] * cases + (owner + 1).tolist(),
        "setting": [None] * cases + [setting[c] for c in owner_list],
        "jurisdiction_id": district_ids[np.concatenate([case_district, contact_district[owner]])].tolist(),
        "team": ["investigation"] * cases + ["contact-follow-up"] * len(owner),
        "due_on": due_iso,
        "status": status,
        "result": [results[k] if d else None for k, d in zip(kind, done)],
        "completed_on": [c if d else None for c, d in zip(completed_iso, done)],
        "reason": reason,
        "created_on": reported_iso + [identified_iso[c] for c in owner_list],
    }
    _insert_columns(db, "task", columns)
    if db.postgres:
        # The ids were given, so the sequences are moved past them for the rows the service adds.
        for table in ("person", "case_record", "contact", "task"):
            conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
        conn.commit()
        conn.autocommit = True
        conn.execute("ANALYZE")  # what autovacuum does within a minute of a load this size
    else:
        conn.execute("COMMIT")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()


def find_probes(url: str) -> Probes:
    """What to ask for: a recent D1 case with contacts, a D1 contact with tasks, a D1 phone, the commonest
    four-letter family-name prefix, the commonest D1 full name (read back, so --reuse finds the same)."""
    db = RawDatabase(url)
    try:
        d1 = db.one("SELECT id FROM jurisdiction WHERE code = 'D1'")
        case_id = db.one(
            "SELECT c.id FROM case_record c JOIN contact k ON k.case_id = c.id WHERE c.jurisdiction_id = ? "
            "GROUP BY c.id ORDER BY c.reported_on DESC, count(*) DESC, c.id LIMIT 1", (d1,))
        person_id = db.one("SELECT person_id FROM task WHERE jurisdiction_id = ? AND contact_id IS NOT NULL "
                           "ORDER BY id DESC LIMIT 1", (d1,))
        phone = db.one("SELECT phone FROM person WHERE jurisdiction_id = ? AND phone IS NOT NULL "
                       "ORDER BY id LIMIT 1 OFFSET 1000", (d1,))
        # family_key and name_key compare bytewise on both backends (collation "C" on PostgreSQL).
        family_prefix = db.one(
            "SELECT substr(family_key, 1, 4) AS prefix FROM person WHERE substr(family_key, 1, 4) NOT LIKE '% %' "
            "GROUP BY prefix ORDER BY count(*) DESC, prefix LIMIT 1")
        full_name = db.rows("SELECT min(given_name), min(family_name) FROM person WHERE jurisdiction_id = ? "
                            "GROUP BY name_key ORDER BY count(*) DESC, name_key LIMIT 1", (d1,))[0]
        counts = {table: db.one(f"SELECT count(*) FROM {table}")
                  for table in ("person", "case_record", "contact", "task", "audit_event")}
    finally:
        db.close()
    return Probes(case_id, person_id, phone, family_prefix, tuple(full_name), counts)


# --- timing -------------------------------------------------------------------------------------------

def percentile(samples: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, int(np.ceil(q / 100 * len(ordered))) - 1))]


def timed(call: Callable[[], object], reps: int) -> list[float]:
    """Milliseconds per call, after one warm-up call."""
    call()
    samples = []
    for _ in range(reps):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


FLOOR_SQL = (
    "SELECT c.id, c.status, c.jurisdiction_id, c.reported_on, c.onset_date, c.interviewed_on, p.id, p.given_name, "
    "p.family_name, p.date_of_birth FROM case_record c JOIN person p ON p.id = c.person_id "
    "WHERE {column} IN ({marks}) ORDER BY c.reported_on DESC, c.id DESC LIMIT 50"
)


def floor_ms(url: str, jurisdiction_ids: list[int], reps: int) -> dict[str, float]:
    """Median ms of the first page of cases with one raw SQL query through the driver, two ways.

    ``as planned``: the plain query, as the database plans it (SQLite without ANALYZE picks the
    jurisdiction index and sorts every case in scope). ``reported_on index``: the same query with
    ``+`` on the column, which keeps the planner off the jurisdiction index (SQLite then walks the
    reported_on index and stops after 50 rows). The floor is the faster.
    """
    db = RawDatabase(url)
    medians = {}
    for name, column in (("as planned", "c.jurisdiction_id"), ("reported_on index", "+c.jurisdiction_id")):
        sql = db.sql(FLOOR_SQL.format(column=column, marks=", ".join("?" * len(jurisdiction_ids))))
        medians[name] = statistics.median(timed(lambda sql=sql: db.conn.execute(sql, jurisdiction_ids).fetchall(), reps))
    db.close()
    return medians


@contextmanager
def captured_sql(engine: Engine) -> Iterator[list[tuple[str, object, float]]]:
    """Every statement the engine runs meanwhile, with its parameters and milliseconds."""
    statements: list[tuple[str, object, float]] = []

    def before(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        conn.info["started"] = time.perf_counter()

    def after(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        statements.append((statement, parameters, (time.perf_counter() - conn.info["started"]) * 1000))

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "after_cursor_execute", after)


PAGE_COUNTS = re.compile(r"\((\d+) of (\d+)\)|(\d+) of (\d+) (?:case|match)")


def _count(url: str, response) -> str:  # type: ignore[no-untyped-def]
    """What a response says it holds: the API's ``count``; a page's "shown/total" of each list on it."""
    if url == "/api/me":
        return ""
    if url.startswith("/api/"):
        return str(response.json().get("count", ""))
    return " ".join(f"{a or c}/{b or d}" for a, b, c, d in PAGE_COUNTS.findall(response.text))


def explain(database_url: str, engine: Engine, client, url: str) -> None:  # type: ignore[no-untyped-def]
    """Print each statement a request runs, its time and, for the slow ones, the database's query plan."""
    with captured_sql(engine) as statements:
        client.get(url)
    db = RawDatabase(database_url)
    selects = [(sql, params, ms) for sql, params, ms in statements if sql.lstrip().upper().startswith("SELECT")]
    quick = sum(1 for _, _, ms in selects if ms < 1)
    for sql, params, ms in selects:
        if ms < 1:
            continue
        print(f"    {ms:8.1f} ms  {' '.join(sql.split())}")
        print(f"      params: {params}")
        # The captured statement is already in the driver's paramstyle: no placeholder rewriting.
        for row in db.conn.execute(f"EXPLAIN {sql}" if db.postgres else f"EXPLAIN QUERY PLAN {sql}", params).fetchall():
            print(f"      plan: {row[0] if db.postgres else row[3]}")
    print(f"    (+{quick} SELECTs under 1 ms: token, user, jurisdictions, audit chain head)")
    db.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--persons", type=int, default=300_000, help="persons in the line list")
    parser.add_argument("--cases", type=int, help="cases (default: persons / 10)")
    parser.add_argument("--contacts", type=int, help="contacts (default: persons / 2); about 10 tasks each")
    parser.add_argument("--reps", type=int, default=30, help="timed repetitions per request, after one warm-up")
    parser.add_argument("--seed", type=int, default=1, help="random seed")
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite",
                        help="sqlite: a file in a temp folder (default); postgresql: a new database on a throw-away "
                             "server started for the run (benchmarks/_postgres.py, durability on)")
    parser.add_argument("--database-url", help="build the line list in this empty database (SQLite or PostgreSQL) "
                                               "and keep it, instead of --backend's")
    parser.add_argument("--db", type=Path, help="build the database at this new path and keep it (default: a temp folder)")
    parser.add_argument("--explain", action="store_true",
                        help=f"print the SQL and plans of requests slower than {SLOW_MS:.0f} ms")
    parser.add_argument("--analyze", action="store_true",
                        help="run ANALYZE after loading on SQLite (the service never does; on PostgreSQL it always runs)")
    parser.add_argument("--reuse", help="time a database an earlier run kept (a --db path or a --database-url URL), "
                                        "without building it again")
    args = parser.parse_args()
    if args.db is not None and args.db.exists():
        parser.error(f"--db {args.db} already exists: give a new path, or delete it first (or time it with --reuse)")
    if sum(x is not None for x in (args.db, args.database_url, args.reuse)) > 1 or (
            args.backend == "postgresql" and (args.db or args.database_url or args.reuse)):
        parser.error("give at most one of --db, --database-url, --reuse and --backend postgresql")
    if args.reuse is not None:
        if "://" in args.reuse:
            run(args, args.reuse, reuse=True)
            return
        if not Path(args.reuse).exists():
            parser.error(f"--reuse {args.reuse} does not exist: build it first with --db {args.reuse}")
        run(args, f"sqlite:///{args.reuse}", reuse=True)
        return
    if args.database_url:
        run(args, args.database_url)
    elif args.backend == "postgresql":
        from benchmarks._postgres import create_database, start_throwaway_server

        run(args, create_database(start_throwaway_server(durable=True), "epitrace_api"))
    else:
        with tempfile.TemporaryDirectory() as folder:
            run(args, f"sqlite:///{args.db or Path(folder) / 'api.db'}")


def run(args: argparse.Namespace, database_url: str, *, reuse: bool = False) -> None:
    from fastapi.testclient import TestClient

    from epitrace.api import create_app
    from epitrace.storage.accounts import add_user, create_api_token
    from epitrace.storage.db import is_initialised
    from epitrace.storage.jurisdictions import add_jurisdiction

    engine = make_engine(database_url)
    generation_s = 0.0
    if not reuse:
        if is_initialised(engine):
            raise SystemExit(f"{engine.url.render_as_string(hide_password=True)} already has epitrace tables: "
                             "give an empty database (or time it with --reuse)")
        upgrade(engine)
        with write_session(engine) as session:
            add_jurisdiction(session, "CITY", "Synthville")
            for code, name in DISTRICTS.items():
                add_jurisdiction(session, code, name, parent_code="CITY")
        started = time.perf_counter()
        generate(database_url, persons=args.persons, cases=args.cases or args.persons // 10,
                 contacts=args.contacts or args.persons // 2, seed=args.seed)
        generation_s = time.perf_counter() - started
        if args.analyze and engine.dialect.name == "sqlite":
            db = RawDatabase(database_url)
            db.conn.execute("ANALYZE")
            db.close()
        with write_session(engine) as session:
            add_user(session, "tracer-d1", PASSWORD, role="tracer", jurisdiction_code="D1")
            add_user(session, "supervisor", PASSWORD, role="supervisor", jurisdiction_code="CITY")
    db = RawDatabase(database_url)
    size_mib, version = db.size_mib(), db.version()
    ids = dict(db.rows("SELECT code, id FROM jurisdiction"))
    db.close()
    postgres = engine.dialect.name == "postgresql"
    driver = "psycopg" if postgres else "sqlite3"
    probes = find_probes(database_url)
    with write_session(engine) as session:
        tokens = {name: create_api_token(session, name, name="benchmark") for name in ("tracer-d1", "supervisor")}
    scopes = {"tracer-d1": [ids["D1"]], "supervisor": sorted(ids.values())}
    os.environ["EPITRACE_TODAY"] = LAST_DAY.isoformat()
    app = create_app(engine)

    week_ago = (LAST_DAY - timedelta(days=13)).isoformat()
    today, given, family = LAST_DAY.isoformat(), *probes.full_name
    yesterday = (LAST_DAY - timedelta(days=1)).isoformat()
    phone, respelled = quote(probes.phone), quote(probes.phone_respelled)
    api_requests = [
        "/api/me",  # reference: token check and one transaction, no personal data
        "/api/cases",
        f"/api/cases?status=confirmed&reported_from={week_ago}&reported_to={today}",
        "/api/cases?offset=2000",
        "/api/cases?sort=oldest&uninterviewed=true",
        "/api/tasks?overdue=true",
        "/api/tasks?kind=test&status=open",
        f"/api/tasks?kind=symptom_check&setting=household&due_from={week_ago}&due_to={today}&sort=latest_due",
        f"/api/tasks?status=done&completed_from={today}",
        f"/api/persons?q={probes.family_prefix}",
        f"/api/persons?q={quote(f'{given} {family}')}",
        f"/api/persons?q={quote(f'{family} {given}')}",
        f"/api/persons?q={phone}",
        f"/api/persons?q={respelled}",
        f"/api/persons/{probes.person_id}",
        f"/api/cases/{probes.case_id}",
    ]
    # The staff pages (issue 9): each lists one page with its true count, filtered, sorted and paged.
    page_requests = [
        "/queue",
        "/queue?show=all",
        f"/queue?show=all&status=confirmed&reported_from={week_ago}&sort=oldest&offset=100",
        "/queue?show=all&jurisdiction=D1&offset=1000",
        "/tasks",
        "/tasks?kind=test&due_offset=25&overdue_offset=100&overdue_sort=latest_due",
        f"/tasks?jurisdiction=D1&due_from={week_ago}&done_from={yesterday}",
        f"/persons?q={probes.family_prefix}",
        f"/persons?q={probes.family_prefix}&offset=100",
        f"/persons?q={quote(f'{given} {family}')}&sort=born&offset=50",
        f"/persons?q={quote(f'{given} {family}')}",
        f"/persons?q={quote(f'{family} {given[:2]}')}",
        f"/persons?q={respelled}",
    ]
    counts = ", ".join(f"{table} {n:,}" for table, n in probes.counts.items())
    print(f"line list: {counts}; {DAYS} days to {LAST_DAY} (EPITRACE_TODAY)")
    statistics_note = ("ANALYZE run, as autovacuum does in service" if postgres else
                       "ANALYZE run" if args.analyze else "no ANALYZE, as in service")
    print(f"data generation {generation_s:.1f} s{' (reused)' if reuse else ''}; database {size_mib:,.0f} MiB "
          f"({version}, {statistics_note})")
    print(f"search probes: family prefix {probes.family_prefix!r}, full name {given} {family}, phone {probes.phone} "
          f"(also searched as {probes.phone_respelled}); {args.reps} reps after one warm-up; floor = first page of "
          f"cases by raw {driver}; x me = median / median of GET /api/me in the same run (the request overhead)")
    slow: list[tuple[str, str]] = []
    clients = {account: TestClient(app, base_url="https://testserver", headers={"Authorization": f"Bearer {token}"})
               for account, token in tokens.items()}
    for account, client in clients.items():
        floors = floor_ms(database_url, scopes[account], args.reps)
        floor = min(floors.values())
        print(f"\n{account} (jurisdictions {scopes[account]}): floor {floor:.2f} ms "
              f"(raw first page: {', '.join(f'{name} {ms:.2f} ms' for name, ms in floors.items())})")
        me = None
        for title, urls in (("API request", api_requests), ("page", page_requests)):
            print(f"  {title:<88} {'count':>14} {'median ms':>10} {'p95 ms':>9} {'floor/median':>13} {'x me':>6}")
            for url in urls:
                response = client.get(url)
                if response.status_code != 200:
                    raise SystemExit(f"{account} GET {url} answered {response.status_code}: {response.text[:300]}")
                count = _count(url, response)
                samples = timed(lambda url=url, client=client: client.get(url), args.reps)
                median = statistics.median(samples)
                me = me or median
                print(f"  {url:<88} {count:>14} {median:>10.1f} {percentile(samples, 95):>9.1f} "
                      f"{floor / median:>13.4f} {median / me:>6.1f}", flush=True)
                if median > SLOW_MS:
                    slow.append((account, url))
    db = RawDatabase(database_url)
    audit_rows, total_mib = db.one("SELECT count(*) FROM audit_event"), db.size_mib(with_wal=True)
    db.close()
    print(f"\naudit entries written during the run: {audit_rows:,}; database now {total_mib:,.0f} MiB"
          f"{'' if postgres else ' (with WAL)'}")
    print(f"requests slower than {SLOW_MS:.0f} ms (median): {len(slow)}")
    for account, url in slow:
        print(f"  {account} GET {url}")
        if args.explain:
            explain(database_url, engine, clients[account], url)
    engine.dispose()


if __name__ == "__main__":
    main()
