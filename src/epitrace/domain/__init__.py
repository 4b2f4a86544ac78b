"""Pure rules and types of epitrace: no I/O here."""
