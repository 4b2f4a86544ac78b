"""Reports that leave the system: aggregate, with small counts suppressed."""
