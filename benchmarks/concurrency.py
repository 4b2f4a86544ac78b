"""Many tracers at once against `epitrace serve --workers N`: requests, errors, lost updates, latency, audit.

Usage:
    python benchmarks/concurrency.py                          # 50 tracers, 2 minutes, 4 workers, SQLite
    python benchmarks/concurrency.py --backend postgresql     # the same on a throw-away PostgreSQL server
    python benchmarks/concurrency.py --database-url postgresql+psycopg://u@host/empty_db
    python benchmarks/concurrency.py --tracers 30 --seconds 60 --workers 1

A fresh database gets two districts and --cases cases (a lab file of positive results, imported as a
lab feed would), and one account with an API token per tracer, all in D1 so they share the work, as a
district team does. The server runs as its own processes (`epitrace serve --workers N`). Each tracer
is a thread in this process that, without pause, does one of:

- record a task's result: list open tasks, read one (its ETag), post a result with If-Match;
- update a case: read it (its ETag), PATCH its symptoms with If-Match;
- name a contact for a case (its follow-up tasks are planned).

Two tracers may pick the same task or case: the later write must be refused (409), never accepted over
the other. Every acknowledged write goes into a ledger; at the end the database is read and compared
with it. A **lost update** is an acknowledged write the database does not hold: a task closed twice
(two 200s), two acknowledged case updates with the same version, a case whose symptoms are not those of
its last acknowledged update, a contact id that does not exist. A 503 (busy) is retried after its
Retry-After, as a client should; it is counted. `epitrace audit verify` runs at the end.

The exit status is 1 when an update was lost, the audit chain does not verify, or a request failed
(a 5xx other than 503, a timeout, a dropped connection).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import httpx
from sqlalchemy import make_url, select

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _postgres import create_database, free_port, start_throwaway_server  # noqa: E402

from epitrace.storage.accounts import add_user, create_api_token  # noqa: E402
from epitrace.storage.db import make_engine, read_session, write_session  # noqa: E402
from epitrace.storage.jurisdictions import add_jurisdiction  # noqa: E402
from epitrace.storage.models import Case, Contact, Jurisdiction, Task  # noqa: E402

TODAY = date(2026, 3, 14)
PASSWORD = "benchmark passphrase, not a secret"
LAB_HEADER = ("lab_id,specimen_id,collected_on,resulted_on,result,test_type,given_name,family_name,"
              "date_of_birth,sex,phone,national_id,address,jurisdiction_code")
GIVEN = ("Ana", "Bea", "Cai", "Dev", "Eli", "Fen", "Gus", "Hal", "Ira", "Jo", "Kai", "Lea", "Mo", "Noor", "Oli")
FAMILY = ("Silva", "Stone", "Okafor", "Novak", "Haddad", "Kim", "Moreau", "Berg", "Costa", "Ivanova")
REQUEST_TIMEOUT_S = 60.0


@dataclass
class Ledger:
    """Every answer the tracers got, and every write the server acknowledged."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    latencies_ms: list[float] = field(default_factory=list)
    answers: Counter = field(default_factory=Counter)  # (action, status or error kind) -> count
    closed_tasks: dict[int, list[str]] = field(default_factory=lambda: defaultdict(list))
    case_updates: dict[int, list[tuple[int, str]]] = field(default_factory=lambda: defaultdict(list))
    contacts: dict[int, int] = field(default_factory=dict)  # contact id -> case id

    def answer(self, action: str, kind: str, ms: float | None) -> None:
        with self.lock:
            self.answers[(action, kind)] += 1
            if ms is not None:
                self.latencies_ms.append(ms)


# -- the world ---------------------------------------------------------------------------------------

def prepare(url: str, folder: Path, *, tracers: int, cases: int, seed: int) -> list[str]:
    """Migrate the database, add CITY > D1, D2, import ``cases`` positive results and make the tracers'
    accounts; returns one API token per tracer."""
    env = _env(url)
    subprocess.run([sys.executable, "-m", "epitrace", "init"], env=env, check=True, capture_output=True)
    engine = make_engine(url)
    try:
        with write_session(engine) as session:
            add_jurisdiction(session, "CITY", "Synthville")
            add_jurisdiction(session, "D1", "North District", parent_code="CITY")
            add_jurisdiction(session, "D2", "South District", parent_code="CITY")
        rng = random.Random(seed)
        lines = [LAB_HEADER]
        for n in range(cases):
            collected = TODAY - timedelta(days=rng.randint(1, 5))
            lines.append(",".join(["LAB-A", f"S{n:06d}", collected.isoformat(), (collected + timedelta(days=1)).isoformat(),
                                   "positive", "PCR", rng.choice(GIVEN), f"{rng.choice(FAMILY)}{n}",
                                   f"19{rng.randint(40, 99)}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}", "female",
                                   "", "", "1 Main St", "D1" if n % 5 else "D2"]))
        labs = folder / "labs.csv"
        labs.write_text("\n".join(lines) + "\n", encoding="utf-8")
        subprocess.run([sys.executable, "-m", "epitrace", "import", "labs", str(labs)], env=env, check=True,
                       capture_output=True)
        tokens = []
        with write_session(engine) as session:
            for n in range(tracers):
                add_user(session, f"tracer{n:02d}", PASSWORD, role="tracer", jurisdiction_code="D1")
                tokens.append(create_api_token(session, f"tracer{n:02d}", name="benchmark"))
        return tokens
    finally:
        engine.dispose()


def _env(url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EPITRACE_")}
    return env | {"EPITRACE_DATABASE_URL": url, "EPITRACE_TODAY": TODAY.isoformat()}


@contextmanager
def serving(url: str, workers: int, token: str) -> Iterator[str]:
    """`epitrace serve --workers N` on a free port, until the block ends; yields its base URL."""
    port = free_port()
    log = tempfile.TemporaryFile()
    server = subprocess.Popen([sys.executable, "-m", "epitrace", "serve", "--port", str(port), "--workers", str(workers)],
                              env=_env(url), stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/api/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                log.seek(0)
                raise SystemExit(f"epitrace serve did not start:\n{log.read().decode(errors='replace')}")
            time.sleep(0.2)
        yield base
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.seek(0)
        errors = [line for line in log.read().decode(errors="replace").splitlines() if "Traceback" in line or "ERROR" in line]
        if errors:
            print(f"server log: {len(errors)} error line(s), first: {errors[0]}", file=sys.stderr)
        log.close()


# -- one tracer ----------------------------------------------------------------------------------------

class Tracer:
    """A tracer's client: reads what it changes, sends the version it read, retries a busy server."""

    def __init__(self, base: str, token: str, ledger: Ledger, rng: random.Random, case_ids: list[int]) -> None:
        self.client = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"},
                                   timeout=REQUEST_TIMEOUT_S)
        self.ledger, self.rng, self.case_ids = ledger, rng, case_ids
        self.number = 0

    def run(self, deadline: float) -> None:
        actions: list[Callable[[], None]] = [self.record_result, self.record_result, self.update_case, self.add_contact]
        try:
            while time.monotonic() < deadline:
                try:
                    self.rng.choice(actions)()
                except _Failed:
                    pass
        finally:
            self.client.close()

    def _call(self, action: str, method: str, path: str, **kwargs: object) -> httpx.Response:
        """One request; a 503 is waited out (Retry-After) and sent again, each attempt counted."""
        while True:
            started = time.perf_counter()
            try:
                response = self.client.request(method, path, **kwargs)  # type: ignore[arg-type]
            except httpx.TimeoutException:
                self.ledger.answer(action, "timeout", None)
                raise _Failed from None
            except httpx.TransportError as error:
                self.ledger.answer(action, type(error).__name__, None)
                raise _Failed from None
            self.ledger.answer(action, str(response.status_code), (time.perf_counter() - started) * 1000)
            if response.status_code != 503:
                return response
            time.sleep(min(float(response.headers.get("Retry-After", "1")), 5.0))

    def record_result(self) -> None:
        listed = self._call("list tasks", "GET", "/api/tasks", params={"status": "open", "limit": 20})
        if listed.status_code != 200 or not listed.json()["data"]:
            return
        task_id = self.rng.choice(listed.json()["data"])["id"]
        read = self._call("read task", "GET", f"/api/tasks/{task_id}")
        if read.status_code != 200:
            return
        result = "negative" if read.json()["kind"] == "test" else f"done by benchmark {self.rng.random():.6f}"
        answer = self._call("record result", "POST", f"/api/tasks/{task_id}/result",
                            json={"result": result}, headers={"If-Match": read.headers["ETag"]})
        if answer.status_code == 200:
            with self.ledger.lock:
                self.ledger.closed_tasks[task_id].append(result)

    def update_case(self) -> None:
        case_id = self.rng.choice(self.case_ids)
        read = self._call("read case", "GET", f"/api/cases/{case_id}")
        if read.status_code != 200:
            return
        symptoms = f"fever, cough ({self.rng.random():.9f})"
        answer = self._call("update case", "PATCH", f"/api/cases/{case_id}", json={"symptoms": symptoms},
                            headers={"If-Match": read.headers["ETag"]})
        if answer.status_code == 200:
            with self.ledger.lock:
                self.ledger.case_updates[case_id].append((answer.json()["version"], symptoms))

    def add_contact(self) -> None:
        case_id = self.rng.choice(self.case_ids)
        self.number += 1
        body = {"given_name": self.rng.choice(GIVEN), "family_name": f"Contact{id(self) % 100000}x{self.number}",
                "setting": self.rng.choice(("household", "work", "school")), "last_exposure": (TODAY - timedelta(days=1)).isoformat(),
                "confirm": True}
        answer = self._call("add contact", "POST", f"/api/cases/{case_id}/contacts", json=body)
        if answer.status_code == 201:
            with self.ledger.lock:
                self.ledger.contacts[answer.json()["contact_id"]] = case_id


class _Failed(Exception):
    """A request got no answer; the tracer moves on to its next action."""


# -- the check -----------------------------------------------------------------------------------------

def lost_updates(url: str, ledger: Ledger) -> list[str]:
    """Every acknowledged write the database does not hold, as a sentence."""
    lost: list[str] = []
    engine = make_engine(url)
    try:
        with read_session(engine) as session:
            for task_id, results in sorted(ledger.closed_tasks.items()):
                task = session.get_one(Task, task_id)
                if len(results) > 1:
                    lost.append(f"task {task_id} was closed {len(results)} times: {results}")
                elif task.status != "done" or task.result != results[0]:
                    lost.append(f"task {task_id}: acknowledged result {results[0]!r}, stored {task.status}/{task.result!r}")
            for case_id, updates in sorted(ledger.case_updates.items()):
                versions = [version for version, _ in updates]
                if len(set(versions)) != len(versions):
                    lost.append(f"case {case_id}: two acknowledged updates share a version: {sorted(versions)}")
                last = max(updates, key=lambda update: update[0])[1]
                stored = session.get_one(Case, case_id).symptoms
                if stored != last:
                    lost.append(f"case {case_id}: last acknowledged symptoms {last!r}, stored {stored!r}")
            known = {row.id: row.case_id for row in session.execute(
                select(Contact.id, Contact.case_id).where(Contact.id.in_(ledger.contacts)))} if ledger.contacts else {}
            for contact_id, case_id in sorted(ledger.contacts.items()):
                if known.get(contact_id) != case_id:
                    lost.append(f"contact {contact_id} of case {case_id} was acknowledged but is not stored")
    finally:
        engine.dispose()
    return lost


def audit_verify(url: str) -> tuple[bool, str]:
    done = subprocess.run([sys.executable, "-m", "epitrace", "audit", "verify"], env=_env(url), capture_output=True,
                          text=True)
    return done.returncode == 0, (done.stdout + done.stderr).strip()


@dataclass(frozen=True)
class Phase:
    """What one stretch of the run saw: answers by action and status, latencies, its length."""

    tracers: int
    answers: Counter
    latencies_ms: list[float]
    seconds: float

    @property
    def requests(self) -> int:
        return sum(self.answers.values())

    @property
    def failures(self) -> int:
        """5xx answers other than 503 (busy, retried), timeouts and dropped connections."""
        return sum(n for (_, kind), n in self.answers.items() if not kind.isdigit() or (kind >= "500" and kind != "503"))

    def p(self, share: float) -> float:
        return percentile(self.latencies_ms, share)


@dataclass(frozen=True)
class Outcome:
    alone: Phase | None  # one tracer by themself first: the baseline measured in the same run
    team: Phase
    lost: list[str]
    verified: bool
    verify_output: str
    writes_acknowledged: int

    @property
    def failures(self) -> int:
        return self.team.failures + (self.alone.failures if self.alone else 0)


def _drive(base: str, tokens: list[str], case_ids: list[int], writes: Ledger, seconds: float, seed: int) -> Phase:
    """Run one tracer per token for ``seconds``; their acknowledged writes go into ``writes``."""
    phase = Ledger()
    phase.closed_tasks, phase.case_updates, phase.contacts = writes.closed_tasks, writes.case_updates, writes.contacts
    phase.lock = writes.lock
    started = time.monotonic()
    team = [Tracer(base, token, phase, random.Random(seed * 1000 + n), case_ids) for n, token in enumerate(tokens)]
    threads = [threading.Thread(target=t.run, args=(started + seconds,), name=f"tracer{n}") for n, t in enumerate(team)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return Phase(len(tokens), phase.answers, phase.latencies_ms, time.monotonic() - started)


def run(url: str, *, tracers: int = 50, seconds: float = 120.0, workers: int = 4, cases: int = 200,
        seed: int = 1, baseline_seconds: float = 15.0) -> Outcome:
    """The whole benchmark on an empty database at ``url``: one tracer alone for ``baseline_seconds``
    (none when 0), then the team for ``seconds``, then the checks."""
    with tempfile.TemporaryDirectory(prefix="epitrace-concurrency-") as tmp:
        tokens = prepare(url, Path(tmp), tracers=tracers, cases=cases, seed=seed)
    engine = make_engine(url)
    with read_session(engine) as session:
        case_ids = list(session.scalars(select(Case.id).join(Jurisdiction, Jurisdiction.id == Case.jurisdiction_id)
                                        .where(Jurisdiction.code == "D1").order_by(Case.id)))
    engine.dispose()
    writes = Ledger()
    with serving(url, workers, tokens[0]) as base:
        alone = _drive(base, tokens[:1], case_ids, writes, baseline_seconds, seed + 1) if baseline_seconds > 0 else None
        team = _drive(base, tokens, case_ids, writes, seconds, seed)
    verified, output = audit_verify(url)
    acknowledged = (sum(map(len, writes.closed_tasks.values())) + sum(map(len, writes.case_updates.values()))
                    + len(writes.contacts))
    return Outcome(alone, team, lost_updates(url, writes), verified, output, acknowledged)


def percentile(values: list[float], share: float) -> float:
    if len(values) < 2:
        return (values or [0.0])[0]
    return statistics.quantiles(values, n=100, method="inclusive")[round(share * 100) - 1]


def report(outcome: Outcome, *, backend: str, workers: int) -> str:
    team, alone = outcome.team, outcome.alone
    lines = [f"{backend}: {team.tracers} tracers for {team.seconds:.0f} s against serve --workers {workers}"]
    if alone is not None:
        lines.append(f"  one tracer alone first ({alone.seconds:.0f} s): {alone.requests / alone.seconds:.1f} requests/s, "
                     f"latency ms p50 {alone.p(0.5):.0f} p95 {alone.p(0.95):.0f} p99 {alone.p(0.99):.0f}")
    lines += [f"  team: {team.requests} requests ({team.requests / team.seconds:.1f}/s), writes acknowledged "
              f"{outcome.writes_acknowledged} (both phases)",
              f"  team latency ms p50 {team.p(0.50):.0f}  p95 {team.p(0.95):.0f}  p99 {team.p(0.99):.0f}  "
              f"max {max(team.latencies_ms, default=0):.0f}"]
    if alone is not None and alone.requests and team.requests:
        lines.append(f"  team / one alone: throughput x{(team.requests / team.seconds) / (alone.requests / alone.seconds):.2f}, "
                     f"p50 x{team.p(0.5) / max(alone.p(0.5), 0.001):.1f}")
    lines.append("  team answers by action and status:")
    for (action, kind), n in sorted(team.answers.items()):
        lines.append(f"    {action:<14} {kind:<16} {n}")
    lines.append(f"  failures (5xx but 503, timeouts, dropped connections): {outcome.failures}")
    lines.append(f"  lost updates: {len(outcome.lost)}" + "".join(f"\n    {item}" for item in outcome.lost[:20]))
    last = outcome.verify_output.splitlines()[-1] if outcome.verify_output else ""
    lines.append(f"  audit verify: {'passed' if outcome.verified else 'FAILED'}: {last}")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tracers", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--cases", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--baseline-seconds", type=float, default=15.0,
                        help="one tracer alone first, for this long: the baseline the team is compared with (0: none)")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite",
                       help="sqlite: a new file in a temporary folder; postgresql: a throw-away server (Debian's binaries)")
    where.add_argument("--database-url", help="an empty database to run on (it is migrated and filled)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="epitrace-concurrency-db-") as tmp:
        if args.database_url:
            url = args.database_url
        elif args.backend == "postgresql":
            url = create_database(start_throwaway_server(durable=True), "concurrency")
        else:
            url = f"sqlite:///{Path(tmp) / 'concurrency.db'}"
        backend = make_url(url).get_backend_name()
        outcome = run(url, tracers=args.tracers, seconds=args.seconds, workers=args.workers, cases=args.cases,
                      seed=args.seed, baseline_seconds=args.baseline_seconds)
        print(report(outcome, backend=backend, workers=args.workers))
    ok = not outcome.lost and outcome.verified and outcome.failures == 0
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
