"""Every query and transaction: tables, migrations, audit, scope; the only place that writes SQL."""

# The listeners that count every change of a case, contact or task (issue 11, point 3) are on whenever
# any part of storage is imported, so no write path can miss them.
from epitrace.storage import versions as _versions  # noqa: F401
