"""The exposure engine as a Spark job, for more presences than one machine holds.

Two stages, both running the local engine's own numpy code, so exposures are bit-identical to ``match``:

1. Presence partitions go through ``mapInArrow``: each Python worker builds the index of the broadcast
   windows once, validates its rows with ``prepare`` and emits candidate pairs (``find_candidates``),
   each clipped to its window.
2. Candidates are hash-partitioned by person_id, so every candidate of a person meets in one
   partition, where ``summarise`` takes the union of their intervals, as ``match_chunks`` does.

Run it on a cluster with ``spark-submit`` and ``main`` below; see docs/spark.md.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

import polars as pl
import pyarrow as pa

from epitrace.engine._api import DEFAULT_MIN_OVERLAP_S
from epitrace.engine._io import _check_exists, _format, read_table
from epitrace.engine._match import WindowIndex, build_index, candidates_frame, find_candidates, summarise
from epitrace.engine._schema import GEO_COLUMNS, VENUE_COLUMNS, Prepared, detect_mode, prepare
from epitrace.engine._validate import check_min_overlap, check_same_mode
from epitrace.errors import ConfigurationError, EpitraceError, InputError
from epitrace.settings import Settings

if TYPE_CHECKING:
    from pyspark.broadcast import Broadcast
    from pyspark.sql import DataFrame, SparkSession
    from pyspark.sql.types import DataType

PYSPARK_PIN = "pyspark==4.3.0"
PANDAS_PIN = "pandas==2.3.3"  # pyspark 4.3 warns that pandas 3 is not yet fully supported
MIN_JAVA = 17
JAVA_FIX = "install openjdk-17-jre (apt-get install openjdk-17-jre-headless), or point JAVA_HOME at Java 17+"
MASTERS = "local[*], local[N], spark://host:7077, yarn or k8s://https://host:port"
MASTER_PATTERN = re.compile(r"local(\[(\*|\d+)(,\d+)?\])?$|local-cluster\[[\d, ]+\]$|yarn$|(spark|k8s)://.+")
# Spark hands Python ~10,000 rows per Arrow batch; matching a million at once amortises the
# per-call cost of polars and the index probe while keeping a task's memory small.
CHUNK_ROWS = 1 << 20
# Spark re-raises a worker's exception as text; these markers let the driver find our message in it.
_ERROR_START, _ERROR_END = "[[epitrace-input-error]]", "[[/epitrace-input-error]]"
_ERROR_PATTERN = re.compile(re.escape(_ERROR_START) + "(.*?)" + re.escape(_ERROR_END), re.DOTALL)
# Errors only. The gateway logger's level stops Spark resetting the root to WARN (with a banner)
# for what it takes to be an interactive shell; task failures are re-raised on the driver as our
# own errors, so the executor's and scheduler's stack traces for them are noise.
_LOG4J2 = """\
rootLogger.level = error
rootLogger.appenderRef.stderr.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{yy/MM/dd HH:mm:ss} %p %c{1}: %m%n%ex
logger.gateway.name = org.apache.spark.api.python.PythonGatewayServer
logger.gateway.level = error
logger.executor.name = org.apache.spark.executor.Executor
logger.executor.level = off
logger.tasks.name = org.apache.spark.scheduler.TaskSetManager
logger.tasks.level = off
logger.shuffle.name = org.apache.spark.storage.ShuffleBlockFetcherIterator
logger.shuffle.level = off
"""
# Windows indexed in this Python worker, by job token: workers are reused across tasks.
_INDEXES: dict[str, WindowIndex] = {}


def spark_match(
    presences: DataFrame,
    windows: pl.DataFrame,
    *,
    min_overlap_s: int = DEFAULT_MIN_OVERLAP_S,
    source: str = "presences",
) -> DataFrame:
    """``match`` as a Spark job: the same exposures, bit for bit, from a Spark DataFrame of presences.

    Parameters
    ----------
    presences
        Spark DataFrame with the columns ``match`` takes (extra columns are ignored). Times may be
        integers, ISO-8601 text or time-zone-aware timestamps; text coordinates are parsed as numbers.
    windows
        Exposure windows as a polars frame: validated here, then broadcast to every executor, so
        they must fit in an executor's memory.
    min_overlap_s
        Least summed overlap, in seconds, that counts as an exposure. Default 15 minutes.
    source
        Name of the presences in error messages, e.g. the file name.

    Returns
    -------
    pyspark.sql.DataFrame
        Lazy; the columns of ``match``, one row per exposure, in no particular order. Run actions
        inside ``input_errors()``: a bad presence row fails its Spark task, and ``input_errors``
        turns that back into the ``InputError`` of ``match``, except that the row number in the
        message counts from the start of the Spark partition, not of the file.

    Examples
    --------
    >>> import polars as pl
    >>> presences = spark.createDataFrame([("a", "cafe", 0, 3600), ("b", "bar", 0, 3600)],
    ...     "person_id string, venue_id string, start long, end long")
    >>> windows = pl.DataFrame({"window_id": ["w1"], "venue_id": ["cafe"], "start": [1800], "end": [7200]})
    >>> with input_errors():
    ...     spark_match(presences, windows).select("person_id", "overlap_s", "first_start").collect()
    [Row(person_id='a', overlap_s=1800, first_start=1800)]
    """
    from pyspark.sql.types import DoubleType, LongType, StructField, StructType

    check_min_overlap(min_overlap_s)
    w = prepare(windows, kind="windows", source="windows")
    # Column problems are caught here, on the driver; row problems only where the rows are.
    mode = detect_mode(presences.columns, kind="presences", source=source)
    check_same_mode(mode, w.mode)
    wanted = (VENUE_COLUMNS if mode == "venue" else GEO_COLUMNS)["presences"]
    presences = presences.select(*wanted)
    person = presences.schema["person_id"]
    window_ids = w.frame["window_id"]
    broadcast = presences.sparkSession.sparkContext.broadcast((uuid.uuid4().hex, w.frame, w.mode))
    candidate_schema = StructType([person, *(StructField(name, LongType()) for name in ("window", "start", "end")),
                                   StructField("distance", DoubleType())])
    exposure_schema = StructType([person, StructField("window_id", _spark_type(window_ids)),
                                  StructField("overlap_s", LongType()), StructField("min_distance_m", DoubleType()),
                                  StructField("first_start", LongType()), StructField("last_end", LongType())])
    candidates = presences.mapInArrow(partial(_candidate_batches, windows=broadcast, source=source), candidate_schema)
    # One vectorised summarise per partition rather than one call per person (groupBy.applyInArrow):
    # hash partitioning already puts each person's candidates together, which is all the union needs.
    return candidates.repartition("person_id").mapInArrow(
        partial(_exposure_batches, window_ids=window_ids, min_overlap_s=min_overlap_s), exposure_schema)


def spark_match_files(presences_path: Path, windows: pl.DataFrame, *, min_overlap_s: int) -> pl.DataFrame:
    """What ``epitrace match --engine spark`` runs: the local engine's output, computed by Spark.

    Reads CSV (every column as text, so '007' stays '007') or Parquet presences with Spark on
    ``EPITRACE_SPARK_MASTER`` (``local[*]`` by default) and collects the exposures, sorted by
    person_id then window_id, with the dtypes ``match`` gives for the same file. Validation errors
    are those of the local engine, with row numbers counted within a Spark partition.
    """
    path = Path(presences_path)
    check_min_overlap(min_overlap_s)
    prepare(windows, kind="windows", source="windows")  # fail before paying for a JVM
    _check_exists(path)
    fmt = _format(path)[1:]
    with spark_session() as spark:
        presences = read_presences(spark, str(path), fmt=fmt)
        with input_errors():
            table = spark_match(presences, windows, min_overlap_s=min_overlap_s, source=path.name).toArrow()
    exposures = pl.from_arrow(table)
    assert isinstance(exposures, pl.DataFrame)
    person_dtype = pl.read_parquet_schema(path)["person_id"] if fmt == "parquet" else pl.String
    return exposures.cast({"person_id": person_dtype, "window_id": windows["window_id"].dtype}).sort(
        ["person_id", "window_id"])


def read_presences(spark: SparkSession, path: str, *, fmt: str) -> DataFrame:
    """Presences from a CSV or Parquet file or directory (any path or URI Spark reads)."""
    if fmt == "parquet":
        return spark.read.parquet(path)
    # All text, like the ids in _io.read_table: prepare parses times and coordinates exactly as
    # polars does for the local engine, without Spark's schema inference pass over the data.
    frame = spark.read.csv(path, header=True, inferSchema=False)
    if not frame.columns:
        raise InputError(f"{PurePosixPath(path).name} is empty: expected a header row and one row per record")
    return frame


@contextmanager
def input_errors() -> Iterator[None]:
    """Re-raise a presence row's validation error, wrapped by Spark, as the ``InputError`` it was."""
    try:
        yield
    except EpitraceError:
        raise
    except Exception as error:
        found = _ERROR_PATTERN.search(str(error))
        if found is None:
            raise
        raise InputError(found[1]) from None


@contextmanager
def spark_session(master: str | None = None) -> Iterator[SparkSession]:
    """A SparkSession for one job: a running one is reused and left running; one started here is stopped.

    ``master`` defaults to ``EPITRACE_SPARK_MASTER``; under ``spark-submit`` its ``--master`` wins.
    """
    try:
        from pyspark import SparkContext
        from pyspark.sql import SparkSession
    except ImportError:
        raise ConfigurationError(
            f"the spark engine needs pyspark: pip install {PYSPARK_PIN} {PANDAS_PIN} (and Java {MIN_JAVA}+)"
        ) from None
    if SparkContext._active_spark_context is not None:
        yield SparkSession.builder.getOrCreate()
        return
    builder = SparkSession.builder.appName("epitrace-match").config("spark.ui.showConsoleProgress", "false")
    log_config = None
    if "PYSPARK_GATEWAY_PORT" not in os.environ:  # not under spark-submit: we launch the JVM
        master = master or Settings.from_env().spark_master
        if not MASTER_PATTERN.match(master):
            raise ConfigurationError(f"Spark master {master!r} is not one Spark knows: use {MASTERS} (EPITRACE_SPARK_MASTER)")
        _check_java()
        with tempfile.NamedTemporaryFile("w", suffix=".properties", delete=False) as log_config:
            log_config.write(_LOG4J2)
        builder = builder.master(master).config(
            "spark.driver.extraJavaOptions", f"-Dlog4j2.configurationFile={log_config.name}")
        if master.startswith("local"):
            # Local executors are child processes of this Python: they need its packages, not "python3".
            os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
            builder = builder.config("spark.ui.enabled", "false")
    try:
        spark = builder.getOrCreate()
    except Exception as error:
        raise ConfigurationError(
            f"Spark could not start ({str(error).splitlines()[0]}): see the JVM's message above; check the "
            f"master ({MASTERS}) and that `java -version` shows Java {MIN_JAVA}+"
        ) from error
    finally:
        if log_config is not None:
            os.unlink(log_config.name)  # read once, when the JVM started
    try:
        yield spark
    finally:
        spark.stop()


def _check_java() -> None:
    """Java 17+ where Spark's launcher looks: JAVA_HOME, else PATH."""
    home = os.environ.get("JAVA_HOME")
    java = str(Path(home) / "bin" / "java") if home else shutil.which("java")
    if java is None or not os.access(java, os.X_OK):
        where = f"JAVA_HOME={home} has no bin/java" if home else "no java on PATH"
        raise ConfigurationError(f"Spark needs Java {MIN_JAVA}+ ({where}): {JAVA_FIX}")
    version = subprocess.run([java, "-version"], capture_output=True, text=True, check=False).stderr
    found = re.search(r'version "(\d+)(?:\.(\d+))?', version)
    if found:
        major = int(found[2] or 0) if found[1] == "1" else int(found[1])  # "1.8.0" is Java 8
        if major < MIN_JAVA:
            raise ConfigurationError(f"Spark needs Java {MIN_JAVA}+, found Java {major} at {java}: {JAVA_FIX}")


def _spark_type(series: pl.Series) -> DataType:
    from pyspark.sql.pandas.types import from_arrow_type

    try:
        return from_arrow_type(series.to_arrow().type)
    except Exception:
        raise InputError(
            f"windows column {series.name!r} has type {series.dtype}, which Spark cannot hold: use text or Int64 ids"
        ) from None


def _window_index(windows: Broadcast) -> WindowIndex:
    """The broadcast windows' index, built once per Python worker and job."""
    token, frame, mode = windows.value
    index = _INDEXES.get(token)
    if index is None:
        _INDEXES.clear()  # a worker serves one job at a time; drop the last job's index
        index = _INDEXES[token] = build_index(Prepared(frame, mode))
    return index


def _chunks(batches: Iterator[pa.RecordBatch]) -> Iterator[pl.DataFrame]:
    pending: list[pa.RecordBatch] = []
    rows = 0
    for batch in batches:
        pending.append(batch)
        rows += batch.num_rows
        if rows >= CHUNK_ROWS:
            yield pl.DataFrame(pa.Table.from_batches(pending))
            pending, rows = [], 0
    if pending:
        yield pl.DataFrame(pa.Table.from_batches(pending))


def _candidate_batches(batches: Iterator[pa.RecordBatch], *, windows: Broadcast, source: str) -> Iterator[pa.RecordBatch]:
    """Stage 1, on an executor: one partition of presences -> candidate pairs."""
    offset = 0
    for chunk in _chunks(batches):
        try:
            presences = prepare(chunk, kind="presences", source=source, row_offset=offset)
        except InputError as error:
            raise InputError(f"{_ERROR_START}{error.message}{_ERROR_END}") from None
        offset += chunk.height
        found = candidates_frame(presences, find_candidates(presences, _window_index(windows)))
        yield from found.to_arrow().to_batches()


def _exposure_batches(batches: Iterator[pa.RecordBatch], *, window_ids: pl.Series, min_overlap_s: int) -> Iterator[pa.RecordBatch]:
    """Stage 2, on an executor: all candidates of the partition's people -> exposures."""
    tables = [batch for batch in batches if batch.num_rows]
    if tables:
        candidates = pl.DataFrame(pa.Table.from_batches(tables))
        yield from summarise(candidates, window_ids, min_overlap_s=min_overlap_s).to_arrow().to_batches()


def main(argv: list[str] | None = None) -> None:
    """Command-line driver for ``spark-submit``: match presences on the cluster, write Parquet."""
    parser = argparse.ArgumentParser(
        prog="python -m epitrace.engine.spark",
        description="Exposures of presences against exposure windows, as a Spark job (see docs/spark.md).")
    parser.add_argument("--windows", required=True, type=Path, help="Exposure windows, .csv or .parquet, on the driver.")
    parser.add_argument("--presences", required=True, help="Presences: a .csv or .parquet file or directory, any Spark URI.")
    parser.add_argument("--out", required=True, help="Directory to write exposures to as Parquet (must not exist).")
    parser.add_argument("--min-overlap-minutes", type=float, default=15, help="Least summed overlap that counts.")
    parser.add_argument("--format", choices=("csv", "parquet"), help="Presences format; by default from the suffix.")
    args = parser.parse_args(argv)
    try:
        if args.min_overlap_minutes < 0:
            raise InputError(f"--min-overlap-minutes must be >= 0, got {args.min_overlap_minutes:g}")
        if "://" not in args.out and Path(args.out).exists():  # Spark would say so only after the job
            raise InputError(f"--out {args.out} already exists: give a new directory, or remove it first")
        name = PurePosixPath(args.presences.rstrip("/")).name
        fmt = args.format or _format(Path(name))[1:]
        windows = read_table(args.windows)
        with spark_session() as spark, input_errors():
            exposures = spark_match(read_presences(spark, args.presences, fmt=fmt), windows,
                                    min_overlap_s=int(round(args.min_overlap_minutes * 60)), source=name)
            exposures.orderBy("person_id", "window_id").write.parquet(args.out, mode="errorifexists")
    except EpitraceError as error:
        print(f"Error: {error.message}", file=sys.stderr)
        raise SystemExit(error.exit_code) from None


if __name__ == "__main__":
    # Import by name so that Spark pickles the workers' functions by reference, not as __main__.
    from epitrace.engine.spark import main as _main

    _main()
