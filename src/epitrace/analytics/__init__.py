"""Epidemic analytics: curves, Rt, serial interval, chains and trees; frames in, frames out."""
