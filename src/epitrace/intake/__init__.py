"""Importers: every row validated before anything is written."""
