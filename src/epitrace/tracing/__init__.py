"""Tracing services that combine stored records with the exposure engine."""
