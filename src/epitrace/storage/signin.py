"""The sign-in limiter: counters in the database, counted before the password is checked.

Three keys count every attempt: the **pair** (this account from this address), the **account** (from
anywhere) and the **address** (for any account). An attempt is counted in its own short transaction
that commits *before* the argon2 hash is verified (:func:`begin_attempt`): the database serialises
these transactions (SQLite: ``BEGIN IMMEDIATE``; PostgreSQL: ``SELECT … FOR UPDATE`` on each counter,
taken in key order), so twenty parallel requests or several worker processes see each other's counts
and at most :attr:`Throttle.threshold` of them reach the hash. A correct password then undoes the count
(:func:`attempt_succeeded`).

Throttling, not locking out. Once a key has ``threshold`` failures, each further attempt on it must
wait ``2**(failures - threshold + 1)`` seconds (2, 4, 8, …) up to the key's cap; an early attempt is
answered 429 with ``Retry-After`` and is not counted. The keys differ in strength:

- the pair throttles hard (5 failures, cap 15 minutes): guessing one account from one address is slow;
- the address throttles firmly (20 failures, cap 5 minutes): spraying many accounts from one address;
- the account throttles mildly (10 failures, cap 1 minute): an attacker using many addresses gets at
  most one guess a minute, and the real user at most a minute's wait.

An address from which the account signed in within :data:`KNOWN_FOR` is the user's *usual* address:
there only the pair counts. So failures from elsewhere (the account or address key) never keep the real
user out, and a user's own typos cost them seconds, not fifteen minutes. Counters are forgotten
:data:`FORGET_AFTER` after their last attempt. Each time a key starts being throttled (its failures
reach the threshold) one audit entry is appended (record type ``sign_in``), not one per attempt.

A fourth kind of key, **share** (an address), counts wrong one-time share codes (:func:`limited_check`,
used by ``storage.sharing.check_code_limited``): after 5, one more try per 15 minutes. The code is
checked inside the counter's transaction (a hash lookup, unlike a password's argon2), so parallel
requests and several workers queue on the counter and each sees the others' failures. A right code
does not reset the count: an attacker holding one could otherwise reset it between guesses.

Addresses come from ``service.auth.client_address``: the connecting peer, or ``X-Forwarded-For``
only from a proxy listed in ``EPITRACE_TRUSTED_PROXIES``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Engine, delete, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from epitrace.domain import limits
from epitrace.errors import NotFound, TooManyRequests
from epitrace.storage import audit
from epitrace.storage.audit import Actor
from epitrace.storage.db import read_session, write_session
from epitrace.storage.models import SignInCounter, User, utcnow


@dataclass(frozen=True)
class Throttle:
    """How one kind of key throttles: after ``threshold`` failures, waits doubling from 2 s up to ``cap_s``."""

    kind: str
    threshold: int
    cap_s: int
    first_s: int = 2

    def delay(self, failures: int) -> int:
        """Seconds the next attempt must wait after ``failures`` failures (0 below the threshold)."""
        if failures < self.threshold:
            return 0
        return min(self.cap_s, self.first_s * 2 ** min(failures - self.threshold, 30))


PAIR = Throttle("pair", threshold=5, cap_s=900)
ADDRESS = Throttle("address", threshold=20, cap_s=300)
ACCOUNT = Throttle("account", threshold=10, cap_s=60)
SHARE = Throttle("share", threshold=5, cap_s=900, first_s=900)
FORGET_AFTER = timedelta(hours=24)
"""A counter whose last attempt is older than this starts again from zero."""
KNOWN_FOR = timedelta(days=30)
"""An address the account signed in from within this long is its usual address."""
ACTOR = Actor(name="sign-in limiter", purpose="protecting accounts from password guessing")


def now() -> datetime:
    """The limiter's clock (naive UTC); tests move it."""
    return utcnow()


@dataclass
class Attempt:
    """A counted attempt: its keys with the failures counted so far, and the account's stored hash."""

    username: str
    address: str
    counts: dict[str, int] = field(default_factory=dict)
    user_id: int | None = None
    password_hash: str | None = None


def _keys(username: str, address: str) -> dict[str, Throttle]:
    name = username[: limits.USERNAME]
    address = address[:64]
    return {f"pair:{name}\x1f{address}": PAIR, f"address:{address}": ADDRESS, f"account:{name}": ACCOUNT}


def _locked(session: Session, key: str, moment: datetime) -> SignInCounter:
    """The counter of ``key``, locked for this transaction (created when missing)."""
    query = select(SignInCounter).where(SignInCounter.key == key).with_for_update()
    row = session.scalar(query)
    if row is None:
        try:
            with session.begin_nested():
                row = SignInCounter(key=key, failures=0, last_attempt_at=moment)
                session.add(row)
        except IntegrityError:  # another worker created it meanwhile (PostgreSQL)
            row = session.scalar(query)
    assert row is not None
    if row.last_attempt_at < moment - FORGET_AFTER:
        row.failures, row.retry_at = 0, None
    return row


def begin_attempt(engine: Engine, username: str, address: str) -> Attempt:
    """Count one sign-in attempt, committed before the caller verifies the password.

    Raises :class:`TooManyRequests` (with ``Retry-After``) when a key that applies is throttled; that
    attempt is not counted. Returns the attempt with the account's stored hash (None when no account).
    """
    moment = now()
    keys = _keys(username, address)
    attempt = Attempt(username, address)
    with write_session(engine) as session:
        session.execute(delete(SignInCounter).where(or_(
            SignInCounter.last_attempt_at < moment - KNOWN_FOR,
            (SignInCounter.last_attempt_at < moment - FORGET_AFTER) & SignInCounter.last_success_at.is_(None))))
        rows = {key: _locked(session, key, moment) for key in sorted(keys)}
        pair = next(rows[k] for k, t in keys.items() if t is PAIR)
        usual = pair.last_success_at is not None and pair.last_success_at >= moment - KNOWN_FOR
        wait = max((_wait(row, keys[key], moment) for key, row in rows.items() if keys[key] is PAIR or not usual),
                   default=0)
        if wait:  # raising rolls the transaction back: a refused attempt is not counted
            raise TooManyRequests(f"too many failed sign-ins: try again in {wait} second(s)",
                                  headers={"Retry-After": str(wait)})
        for key, row in rows.items():
            _count_failure(row, keys[key], moment)
            attempt.counts[key] = row.failures
        user = session.execute(select(User.id, User.password_hash).where(User.username == username)).first()
        if user is not None:
            attempt.user_id, attempt.password_hash = user.id, user.password_hash
    return attempt


def attempt_failed(engine: Engine, attempt: Attempt) -> None:
    """Audit each key this failure started throttling (one entry per start, in its own transaction)."""
    started = [(key, kind) for key, kind in _keys(attempt.username, attempt.address).items()
               if attempt.counts.get(key) == kind.threshold]
    if not started:
        return
    with write_session(engine) as session:
        for key, kind in started:
            subject = key.partition(":")[2].replace("\x1f", " from ")
            audit.record(session, Actor(ACTOR.name, f"{ACTOR.purpose}: {kind.kind} throttled after "
                                                    f"{kind.threshold} failures"),
                         action="throttle", record_type="sign_in", record_id=f"{kind.kind}:{subject}"[:64],
                         person_id=None)


def attempt_succeeded(session: Session, attempt: Attempt) -> None:
    """Undo the attempt's count (inside the request's transaction): the pair starts again and becomes the
    account's usual address; the account and the address only lose this attempt (an attacker's failures
    on them from elsewhere stay counted)."""
    moment = now()
    for key, kind in _keys(attempt.username, attempt.address).items():
        row = session.scalar(select(SignInCounter).where(SignInCounter.key == key).with_for_update())
        if row is None:
            continue
        if kind is not PAIR:
            row.failures = max(0, row.failures - 1)
            if row.failures < kind.threshold:
                row.retry_at = None
        else:
            row.failures, row.retry_at, row.last_success_at = 0, None, moment


def _count_failure(row: SignInCounter, throttle: Throttle, moment: datetime) -> None:
    """One more failure on ``row``'s key at ``moment``, and the wait it earns."""
    row.failures += 1
    row.last_attempt_at = moment
    delay = throttle.delay(row.failures)
    row.retry_at = moment + timedelta(seconds=delay) if delay else None


def _wait(row: SignInCounter | None, throttle: Throttle, moment: datetime) -> int:
    """Seconds until ``row``'s key may be tried again (0: now)."""
    if row is None or row.failures < throttle.threshold or row.retry_at is None or row.retry_at <= moment:
        return 0
    return int((row.retry_at - moment).total_seconds()) + 1


def throttled_for(engine: Engine, key: str, throttle: Throttle) -> int:
    """Seconds ``key`` must wait before it may be tried (0: now), read without locking anything."""
    moment = now()
    with read_session(engine) as session:
        row = session.scalar(select(SignInCounter).where(SignInCounter.key == key))
        return 0 if row is None or row.last_attempt_at < moment - FORGET_AFTER else _wait(row, throttle, moment)


def limited_check(engine: Engine, key: str, throttle: Throttle, check: Callable[[Session], object], *,
                  refusal: str) -> None:
    """Run ``check`` in a transaction of its own that holds ``key``'s counter (so callers on any worker take
    turns): refused with :class:`TooManyRequests` (``refusal`` plus the wait, and ``Retry-After``) while
    ``key`` is throttled; a :class:`NotFound` from ``check`` is counted and committed, then raised.

    Call it before the request's own transaction has run a statement: on SQLite that one's first statement
    takes the write lock, which this transaction would then wait for.
    """
    moment = now()
    failed: NotFound | None = None
    with write_session(engine) as session:
        row = _locked(session, key, moment)
        wait = _wait(row, throttle, moment)
        if wait:  # not counted: raising rolls the transaction back
            raise TooManyRequests(f"{refusal}: try again in {wait} second(s)", headers={"Retry-After": str(wait)})
        try:
            check(session)
        except NotFound as exc:
            failed = exc
            _count_failure(row, throttle, moment)
    if failed is not None:
        raise failed
