"""`epitrace venues poster`: a venue's check-in QR poster (no visitor list is ever kept)."""

from __future__ import annotations

from pathlib import Path

import typer

from epitrace.cli._common import console
from epitrace.errors import InputError

venues_app = typer.Typer(help="Venue check-in: QR posters whose check-ins stay on visitors' phones.")


@venues_app.command("poster")
def poster(
    name: str = typer.Argument(help="Venue name as printed on the poster."),
    address: str = typer.Option(..., "--address", help="Venue address."),
    out: Path = typer.Option(..., "--out", help="poster.svg or poster.pdf"),
    base_url: str | None = typer.Option(None, "--base-url",
                                        help="This server's public address: the QR opens its /checkin page (else a CWA link)."),
) -> None:
    """Register a venue and print its check-in poster (SVG or PDF).

    Example:

    \b
        epitrace venues poster "Blue Door Café" --address "3 Harbour Street" --out poster.pdf --base-url https://health.example
    """
    from epitrace.checkin import create_venue, venue_poster_pdf, venue_poster_svg
    from epitrace.checkin._poster import check_in_link

    suffix = out.suffix.lower()
    if suffix not in (".svg", ".pdf"):
        raise InputError(f"--out {out.name!r}: expected a .svg or .pdf file")
    venue = create_venue(name, address)
    if suffix == ".svg":
        out.write_text(venue_poster_svg(venue, check_in_base=base_url), encoding="utf-8")
    else:
        out.write_bytes(venue_poster_pdf(venue, check_in_base=base_url))
    console.print(f"Poster written to {out}. Its QR code opens {check_in_link(venue, base_url)}")
