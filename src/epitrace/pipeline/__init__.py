"""The demo pipeline: a synthetic outbreak run through the real code, day by day."""
