"""A printable A4 check-in poster: the venue's name, its QR code, and what happens to a check-in.

The SVG and the PDF are drawn from one layout, so they say the same thing in the same place.
"""

from __future__ import annotations

import io
import textwrap
from dataclasses import dataclass
from datetime import datetime, timezone
from html import escape

import segno

from epitrace.checkin._api import Venue
from epitrace.errors import InputError

PAGE_W, PAGE_H = 210.0, 297.0  # A4, millimetres
MARGIN = 15.0
QR_SIZE = 150.0
PRIVACY_LINE = (
    "Your check-in stays on your phone. This venue keeps no list of visitors, and nothing about your visit "
    "is sent anywhere."
)
HOW_LINE = "Scan the code with your phone's camera to check in."
NOTICE_LINE = (
    "If someone who was here tests positive, the health authority publishes an encrypted notice that only "
    "phones that checked in here can read."
)
_MM_TO_PT = 72 / 25.4


@dataclass(frozen=True)
class _Line:
    y: float
    size: float
    text: str
    bold: bool = False


def _wrap(text: str, *, size: float, bold: bool = False, limit: int | None = None) -> list[str]:
    # Average glyph width of a sans-serif face is about 0.55 em (0.65 em bold): keeps real text on the page.
    width = max(8, int((PAGE_W - 2 * MARGIN) / ((0.65 if bold else 0.55) * size)))
    lines = textwrap.wrap(text, width=width) or [""]
    if limit is not None and len(lines) > limit:
        lines = lines[:limit]
        lines[-1] = lines[-1][: width - 1].rstrip() + "…"
    return lines


def _when(venue: Venue) -> str | None:
    start, end = venue.trace_location.start_timestamp, venue.trace_location.end_timestamp
    if start is None or end is None:
        return None
    a = datetime.fromtimestamp(start, tz=timezone.utc)
    b = datetime.fromtimestamp(end, tz=timezone.utc)
    until = f"{b:%H:%M}" if a.date() == b.date() else f"{b:%Y-%m-%d %H:%M}"
    return f"{a:%Y-%m-%d %H:%M} – {until} UTC"


def _layout(venue: Venue) -> tuple[list[_Line], float]:
    """Text lines top to bottom, and the y of the QR code's top edge."""
    lines: list[_Line] = [_Line(24.0, 8.0, "Check in here", bold=True)]
    name_size = 11.0 if len(venue.name) <= 50 else 8.0
    y = 24.0 + 4.0
    for text in _wrap(venue.name, size=name_size, bold=True, limit=4):
        y += name_size * 1.15
        lines.append(_Line(y, name_size, text, bold=True))
    for text in _wrap(venue.address, size=5.0, limit=2):
        y += 7.0
        lines.append(_Line(y, 5.0, text))
    when = _when(venue)
    if when:
        y += 7.0
        lines.append(_Line(y, 5.0, when))
    qr_top = max(y + 10.0, 72.0)
    y = qr_top + QR_SIZE + 4.0
    for text, size in ((HOW_LINE, 5.0), (PRIVACY_LINE, 4.2), (NOTICE_LINE, 3.4)):
        for part in _wrap(text, size=size, bold=size == 5.0):
            y += size * 1.35
            lines.append(_Line(y, size, part, bold=size == 5.0))
        y += 1.5
    if y > PAGE_H - 5:
        # Unreachable with the 100-character limits; kept so a layout change cannot print off the page.
        raise InputError(f"venue name and address are too long to fit on one poster: {venue.name!r}")
    return lines, qr_top


def check_in_link(venue: Venue, base: str | None) -> str:
    """The link the poster's QR code opens: the CWA link, or ``{base}/checkin#<payload>`` on our server.

    The payload rides in the URL fragment, which browsers never send to the server.
    """
    if base is None:
        return venue.qr_url
    return f"{base.rstrip('/')}/checkin#{venue.qr_url.split('#', 1)[1]}"


def _qr(venue: Venue, base: str | None = None) -> segno.QRCode:
    return segno.make(check_in_link(venue, base), error="m", micro=False)


def venue_poster_svg(venue: Venue, *, check_in_base: str | None = None) -> str:
    """An A4 SVG poster with the venue's name, address, check-in QR code and the privacy promise.

    Examples
    --------
    >>> from epitrace.checkin import create_venue
    >>> poster = venue_poster_svg(create_venue("Café Lumen", "3 Harbour Street"))
    >>> poster.startswith("<svg") and "Café Lumen" in poster
    True
    """
    if not isinstance(venue, Venue):
        raise InputError(f"venue_poster_svg needs a Venue from create_venue(), got {type(venue).__name__}")
    lines, qr_top = _layout(venue)
    qr_x = (PAGE_W - QR_SIZE) / 2
    inline = _qr(venue, check_in_base).svg_inline(border=4, omitsize=True, dark="#000", light="#fff")
    if not inline.startswith("<svg "):  # pragma: no cover - guards against a segno output change
        raise RuntimeError("unexpected segno SVG output")
    qr_svg = inline.replace(
        "<svg ", f'<svg id="checkin-qr" x="{qr_x:g}" y="{qr_top:g}" width="{QR_SIZE:g}" height="{QR_SIZE:g}" ', 1
    )
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{PAGE_W:g}mm" height="{PAGE_H:g}mm" '
        f'viewBox="0 0 {PAGE_W:g} {PAGE_H:g}" font-family="Helvetica, Arial, sans-serif">',
        f"<title>Check in at {escape(venue.name)}</title>",
        f'<rect width="{PAGE_W:g}" height="{PAGE_H:g}" fill="#fff"/>',
    ]
    for line in lines:
        weight = ' font-weight="bold"' if line.bold else ""
        parts.append(
            f'<text x="{PAGE_W / 2:g}" y="{line.y:.2f}" font-size="{line.size:g}" text-anchor="middle"{weight}>'
            f"{escape(line.text)}</text>"
        )
    parts.append(qr_svg)
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def venue_poster_pdf(venue: Venue, *, check_in_base: str | None = None) -> bytes:
    """The same poster as a one-page A4 PDF (drawn with matplotlib)."""
    if not isinstance(venue, Venue):
        raise InputError(f"venue_poster_pdf needs a Venue from create_venue(), got {type(venue).__name__}")
    import numpy as np
    from matplotlib.figure import Figure

    lines, qr_top = _layout(venue)
    fig = Figure(figsize=(PAGE_W / 25.4, PAGE_H / 25.4))
    for line in lines:
        fig.text(
            0.5,
            1 - line.y / PAGE_H,
            line.text,
            ha="center",
            va="baseline",
            fontsize=line.size * _MM_TO_PT,
            fontweight="bold" if line.bold else "normal",
            parse_math=False,
        )
    matrix = np.pad(np.array(_qr(venue, check_in_base).matrix, dtype=np.uint8), 4)
    ax = fig.add_axes((
        (PAGE_W - QR_SIZE) / 2 / PAGE_W,
        1 - (qr_top + QR_SIZE) / PAGE_H,
        QR_SIZE / PAGE_W,
        QR_SIZE / PAGE_H,
    ))
    ax.imshow(matrix, cmap="gray_r", vmin=0, vmax=1, interpolation="none")
    ax.set_axis_off()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="pdf", metadata={"Title": f"Check in at {venue.name}", "CreationDate": None})
    return buffer.getvalue()
