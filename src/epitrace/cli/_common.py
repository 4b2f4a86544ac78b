"""What every command shares: the database, the acting user, dates, and output formats."""

from __future__ import annotations

import csv
import getpass
import json
import sys
from collections.abc import Sequence
from datetime import date, datetime
from enum import Enum
from typing import Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text
from sqlalchemy import Engine

from epitrace.domain import limits
from epitrace.errors import InputError
from epitrace.storage.audit import Actor
from epitrace.storage.db import make_engine, require_initialised


class _PlainConsole(Console):
    """Rich output that never reads data as markup, emoji codes or highlights, and prints no
    control or bidirectional characters from it (issue 10, point 5): a name such as
    ``[link=https://evil]x[/link]`` prints as typed. Style what the command says with ``Text``."""

    def print(self, *objects: Any, **kwargs: Any) -> None:  # type: ignore[override]
        super().print(*(limits.terminal_text(o, lines=True) if isinstance(o, str) else o for o in objects), **kwargs)


console = _PlainConsole(soft_wrap=True, markup=False, emoji=False, highlight=False)


def echo(message: str, *, err: bool = False) -> None:
    """``typer.echo`` of a message that may quote data: without control or bidirectional characters."""
    typer.echo(limits.terminal_text(message, lines=True), err=err)


_opened: list[Engine] = []


def engine() -> Engine:
    """The configured database, which must have been initialised; closed when the command ends."""
    db = make_engine()
    _opened.append(db)
    require_initialised(db)
    return db


def close_engines() -> None:
    """Close the connections the command opened (a server counts them; a process may run many commands)."""
    while _opened:
        _opened.pop().dispose()


def cli_actor() -> Actor:
    """The person at the terminal, as recorded in the audit log."""
    try:
        user = getpass.getuser()
    except OSError:  # no user name in some containers
        user = "unknown"
    return Actor(name=f"cli:{user}")


def parse_date(value: str | None, *, option: str) -> date | None:
    """A YYYY-MM-DD option value, or a clear error naming the option."""
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InputError(f"{option} {value!r} is not a date: expected YYYY-MM-DD, e.g. 2026-03-14") from None


def parse_datetime(value: str, *, option: str) -> datetime:
    """An ISO-8601 date-time option value (an offset is required so times are unambiguous)."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise InputError(
            f"{option} {value!r} is not a date-time: expected ISO-8601 with an offset, e.g. 2026-03-14T18:30+01:00"
        ) from None
    if moment.tzinfo is None:
        raise InputError(f"{option} {value!r} has no UTC offset: add one, e.g. {value}+00:00 or {value}Z")
    return moment


class OutputFormat(str, Enum):
    json = "json"
    table = "table"
    csv = "csv"


FORMAT_OPTION = typer.Option(OutputFormat.json, "--format", "-f", help="Output as json (default), table or csv.")


def _plain(value: Any) -> Any:
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return value


def emit(rows: Sequence[dict[str, Any]], fmt: OutputFormat, *, title: str | None = None) -> None:
    """Print rows in the chosen format: the one output path of every data command."""
    if fmt is OutputFormat.json:
        print(json.dumps([{k: _plain(v) for k, v in r.items()} for r in rows], indent=2, ensure_ascii=False))
    elif fmt is OutputFormat.csv:
        if rows:
            writer = csv.DictWriter(sys.stdout, fieldnames=list(rows[0]))
            writer.writeheader()
            # A cell a spreadsheet would run as a formula starts with ' (domain.limits.spreadsheet_cell).
            writer.writerows([{k: limits.spreadsheet_cell(_plain(v)) for k, v in r.items()} for r in rows])
    else:
        table = Table(title=title)
        for column in rows[0] if rows else ["(none)"]:
            table.add_column(str(column))
        for row in rows:
            # Text cells, never markup: data cannot colour the terminal or add links to it.
            table.add_row(*(Text(limits.terminal_text("" if v is None else str(_plain(v)))) for v in row.values()))
        console.print(table)
