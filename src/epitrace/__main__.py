"""`python -m epitrace` runs the command line."""

from epitrace.cli import main

main()
