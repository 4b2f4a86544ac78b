"""Every query and transaction: tables, migrations, audit, scope; the only place that writes SQL."""
