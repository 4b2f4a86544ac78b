"""Configuration, declared once: every setting has a default, an environment variable and help."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from datetime import date, datetime, time, timedelta, timezone

from epitrace.errors import ConfigurationError

DEFAULT_DATABASE_URL = "sqlite:///epitrace.db"


def _setting(default: object, env: str, help: str, *, minimum: int = 1):  # type: ignore[no-untyped-def]
    """A setting: its default, the environment variable that overrides it, and its help text (a whole
    number must be at least ``minimum``)."""
    return field(default=default, metadata={"env": env, "help": help, "minimum": minimum})


@dataclass(frozen=True)
class Settings:
    """Settings read from ``EPITRACE_*`` environment variables."""

    database_url: str = _setting(DEFAULT_DATABASE_URL, "EPITRACE_DATABASE_URL",
        "SQLAlchemy URL of the database; SQLite file ./epitrace.db by default.")
    spark_master: str = _setting("local[*]", "EPITRACE_SPARK_MASTER",
        "Spark master for `epitrace match --engine spark`: local[*] by default, or e.g. spark://host:7077.")
    feed_key: str = _setting("feed-signing-key.pem", "EPITRACE_FEED_KEY",
        "Path of the Ed25519 private key that signs the public feed (create it with `epitrace feed keygen`).")
    max_request_bytes: int = _setting(2 * 1024 * 1024, "EPITRACE_MAX_REQUEST_BYTES",
        "Largest request body the service reads, in bytes (2 MiB); a larger one is refused with 413 before it is read.")
    max_upload_bytes: int = _setting(64 * 1024 * 1024, "EPITRACE_MAX_UPLOAD_BYTES",
        "Largest body of a file upload (lab results, shared location history), in bytes (64 MiB).")
    today: str = _setting("", "EPITRACE_TODAY",
        "Treat this date (YYYY-MM-DD) as today in the service, for demos and training; empty means the real date.")
    small_count_threshold: int = _setting(5, "EPITRACE_SMALL_COUNT_THRESHOLD",
        "Counts below this are suppressed in aggregates that leave the system.")
    trusted_proxies: str = _setting("", "EPITRACE_TRUSTED_PROXIES",
        "Comma-separated addresses or networks of reverse proxies whose X-Forwarded-For and X-Forwarded-Proto "
        "headers `epitrace serve` trusts; empty (the default) trusts none, not even 127.0.0.1.")
    db_pool_size: int = _setting(5, "EPITRACE_DB_POOL_SIZE",
        "PostgreSQL: connections each service process keeps open (SQLite keeps its own pool).")
    db_max_overflow: int = _setting(10, "EPITRACE_DB_MAX_OVERFLOW",
        "PostgreSQL: connections a process may open beyond EPITRACE_DB_POOL_SIZE under load, closed again after use.",
        minimum=0)
    db_pool_timeout_s: int = _setting(10, "EPITRACE_DB_POOL_TIMEOUT_S",
        "PostgreSQL: seconds a request waits for a free connection before it is answered 503 with Retry-After.")
    max_requests_in_flight: int = _setting(32, "EPITRACE_MAX_REQUESTS_IN_FLIGHT",
        "Requests one service process works on at once; more wait their turn without holding a thread or a "
        "database connection (the thread pool is made larger than this, so a request inside never waits for one).")
    db_statement_timeout_ms: int = _setting(30_000, "EPITRACE_DB_STATEMENT_TIMEOUT_MS",
        "Longest a single database statement of a web or API request may run, in milliseconds (PostgreSQL "
        "statement_timeout, SQLite a progress handler); a longer one is stopped and answered 503.")

    @classmethod
    def from_env(cls) -> Settings:
        """Build settings from the environment, falling back to the defaults."""
        values: dict[str, object] = {}
        for f in fields(cls):
            raw = os.environ.get(f.metadata["env"])
            if raw is None or raw == "":
                continue
            if f.type in ("int", int):
                try:
                    values[f.name] = int(raw)
                except ValueError:
                    raise ConfigurationError(
                        f"{f.metadata['env']} must be a whole number, got {raw!r}; unset it to use {f.default}"
                    ) from None
                if values[f.name] < f.metadata["minimum"]:
                    raise ConfigurationError(f"{f.metadata['env']} must be >= {f.metadata['minimum']}, got {raw!r}")
            else:
                values[f.name] = raw
        return cls(**values)  # type: ignore[arg-type]


def today() -> date:
    """The service's idea of today: EPITRACE_TODAY when set (demos, training), else the real date."""
    configured = Settings.from_env().today.strip()
    if not configured:
        return date.today()
    try:
        return date.fromisoformat(configured)
    except ValueError:
        raise ConfigurationError(f"EPITRACE_TODAY {configured!r} is not a date: expected YYYY-MM-DD, or unset it") from None


def now() -> datetime:
    """The service's idea of now (UTC): the real time, or the end of EPITRACE_TODAY when that is set."""
    if Settings.from_env().today.strip():
        return datetime.combine(today() + timedelta(days=1), time.min, tzinfo=timezone.utc)
    return datetime.now(timezone.utc)


def setting_help() -> dict[str, str]:
    """Map each environment variable to its help text (used by the docs check)."""
    return {f.metadata["env"]: f.metadata["help"] for f in fields(Settings)}
