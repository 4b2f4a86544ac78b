"""`epitrace check`: the resident's private self-check."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from epitrace import settings
from epitrace.cli._common import echo
from epitrace.errors import InputError


def check_command(
    feed: str = typer.Option(..., "--feed", help="The public feed: a file or an http(s) URL."),
    trail: Path | None = typer.Option(None, "--trail", help="Your location history (Google Takeout, Timeline, GPX, GeoJSON, CSV)."),
    checkins: Path | None = typer.Option(None, "--checkins", help="Your venue check-ins (JSON list saved by the check-in page)."),
    public_key: str | None = typer.Option(None, "--public-key", help="The health authority's public key (base64 or PEM file)."),
    min_overlap_minutes: int = typer.Option(15, "--min-overlap-minutes", help="Least time in a window that counts."),
) -> None:
    """Check, on this machine, whether you were at a published exposure place and time.

    Your trail and check-ins are read here and never sent anywhere; only the public feed is fetched.

    Example:

    \b
        epitrace check --trail Records.json --feed https://health.example/feed/ --public-key KEY
    """
    from epitrace.cli.feed import load_feed
    from epitrace.selfcheck import describe, self_check

    if trail is None and checkins is None:
        raise InputError("give --trail, --checkins or both: there is nothing to check")
    presences = None
    if trail is not None:
        from epitrace.trails import read_trail

        presences = read_trail(trail)
    stored = None
    if checkins is not None:
        from epitrace.checkin import CheckIn

        try:
            stored = [CheckIn.from_dict(item) for item in json.loads(checkins.read_text(encoding="utf-8"))]
        except (ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:  # RecursionError: nested too deep
            raise InputError(f"{checkins.name} is not a list of check-ins saved by the check-in page: {exc}") from None
    key_text = Path(public_key).read_text() if public_key and Path(public_key).is_file() else public_key
    result = self_check(load_feed(feed), trail=presences, checkins=stored, public_key=key_text, today=settings.today(),
                        min_overlap_s=min_overlap_minutes * 60)
    echo(describe(result))  # place names come from the feed, which anyone may serve
