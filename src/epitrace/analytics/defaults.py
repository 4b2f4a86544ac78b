"""Analytics defaults, importable without numpy or scipy (the command line reads them at start-up)."""

# Serial interval the reports and dashboard use unless told otherwise (a respiratory estimate, days).
DEFAULT_SI_MEAN, DEFAULT_SI_SD = 4.7, 2.9
