"""Reading and writing presences, windows and exposures as CSV or Parquet (by file extension)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq

from epitrace.domain import limits
from epitrace.errors import InputError
from epitrace.files import open_private

FORMATS = (".csv", ".parquet")
ID_COLUMNS = ("person_id", "window_id", "venue_id")


def _format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise InputError(f"{path.name}: unknown file type {suffix or '(none)'!r}; expected a .csv or .parquet file")
    return suffix


def _check_exists(path: Path) -> None:
    if not path.is_file():
        raise InputError(f"{path} does not exist or is not a file; check the path")


def read_table(path: str | Path) -> pl.DataFrame:
    """Read a whole CSV or Parquet file; ids are read as text in CSV so '007' stays '007'."""
    path = Path(path)
    _check_exists(path)
    if _format(path) == ".parquet":
        return pl.read_parquet(path)
    return _read_csv(path)


def _read_csv(path: Path) -> pl.DataFrame:
    try:
        header = pl.read_csv(path, n_rows=0).columns
        overrides = {c: pl.String for c in header if c in ID_COLUMNS}
        return pl.read_csv(path, schema_overrides=overrides)
    except pl.exceptions.NoDataError:
        raise InputError(f"{path.name} is empty: expected a header row and one row per record") from None
    except (pl.exceptions.ComputeError, pl.exceptions.InvalidOperationError) as exc:
        raise InputError(f"{path.name} could not be read as CSV: {str(exc).splitlines()[0]}") from None


def iter_table(path: str | Path, *, chunk_rows: int = 2_000_000) -> Iterator[pl.DataFrame]:
    """Yield a file in chunks of at most ``chunk_rows`` rows (Parquet streams; CSV is read whole)."""
    path = Path(path)
    _check_exists(path)
    if _format(path) == ".parquet":
        for batch in pq.ParquetFile(path).iter_batches(batch_size=chunk_rows):
            yield pl.from_arrow(batch)  # type: ignore[misc]
    else:
        table = _read_csv(path)
        for offset in range(0, max(table.height, 1), chunk_rows):
            yield table.slice(offset, chunk_rows)


def write_table(frame: pl.DataFrame, path: str | Path) -> None:
    """Write CSV or Parquet by extension, owner-only (exposures and presences are personal: issue 10)."""
    path = Path(path)
    with open_private(path, "wb") as handle:
        if _format(path) == ".parquet":
            frame.write_parquet(handle)
        else:
            spreadsheet_safe(frame).write_csv(handle)


def spreadsheet_safe(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with text a spreadsheet would run as a formula prefixed with ``'``, the rule of
    ``domain.limits.spreadsheet_cell`` for whole columns (numbers, and text that is only a number, unchanged)."""
    columns = [name for name, dtype in frame.schema.items() if dtype == pl.String]
    risky = [(pl.col(c).str.contains(f"^{limits.FORMULA_START.pattern}")
              & ~pl.col(c).str.contains(f"^(?:{limits.PLAIN_NUMBER.pattern})$"), c) for c in columns]
    return frame.with_columns(pl.when(r).then(pl.lit("'") + pl.col(c)).otherwise(pl.col(c)).alias(c) for r, c in risky)
