"""The demo's HTML report: summary, epidemic curve, and small counts suppressed by district."""

from __future__ import annotations

import base64
import io
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; no display on servers
import matplotlib.pyplot as plt  # noqa: E402
from jinja2 import Environment, PackageLoader, select_autoescape  # noqa: E402
from sqlalchemy import select  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from epitrace.domain.privacy import suppress_small  # noqa: E402
from epitrace.pipeline.evaluation import DemoSummary  # noqa: E402
from epitrace.storage.models import Case, Contact, Jurisdiction  # noqa: E402

# Okabe-Ito colours: distinguishable with the common colour-vision deficiencies.
KNOWN_CONTACT_COLOUR = "#0072B2"
UNKNOWN_SOURCE_COLOUR = "#E69F00"


def epidemic_curve_png(session: Session, *, first_day: date, last_day: date) -> bytes:
    """Bar chart of new cases by report date, split by whether they were known contacts when reported."""
    known_before = set(
        session.scalars(
            select(Case.id).join(Contact, Contact.person_id == Case.person_id).where(Contact.identified_on <= Case.reported_on)
        )
    )
    known, unknown = Counter(), Counter()
    for case_id, reported in session.execute(select(Case.id, Case.reported_on)):
        (known if case_id in known_before else unknown)[reported] += 1
    days = [first_day + timedelta(days=i) for i in range((last_day - first_day).days + 1)]
    k = [known[d] for d in days]
    u = [unknown[d] for d in days]
    fig, ax = plt.subplots(figsize=(9, 3.6), dpi=110)
    ax.bar(days, u, color=UNKNOWN_SOURCE_COLOUR, label="not a known contact", width=0.85)
    ax.bar(days, k, bottom=u, color=KNOWN_CONTACT_COLOUR, label="already a known contact", width=0.85, hatch="//", edgecolor="white")
    ax.set_ylabel("new cases (by report date)")
    ax.set_title("Epidemic curve")
    ax.legend(frameon=False, loc="upper left")
    ax.spines[["top", "right"]].set_visible(False)
    fig.autofmt_xdate()
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return buffer.getvalue()


def district_rows(session: Session, *, threshold: int) -> list[dict]:
    """Cases per jurisdiction, with counts below the threshold suppressed."""
    names = dict(session.execute(select(Jurisdiction.id, Jurisdiction.code)).all())
    counts = Counter(session.scalars(select(Case.jurisdiction_id)))
    return [{"jurisdiction": names[j], "cases": suppress_small(n, threshold=threshold)} for j, n in sorted(counts.items())]


def write_report(
    session: Session, out_dir: Path, *, summary: DemoSummary, first_day: date, last_day: date,
    parameters: dict, threshold: int,
) -> Path:
    """Write ``out_dir/report.html`` (with its curve as ``epicurve.png`` beside it) and return its path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    png = epidemic_curve_png(session, first_day=first_day, last_day=last_day)
    (out_dir / "epicurve.png").write_bytes(png)
    env = Environment(loader=PackageLoader("epitrace.pipeline"), autoescape=select_autoescape())
    html = env.get_template("report.html").render(
        summary=summary,
        curve_base64=base64.b64encode(png).decode(),
        districts=district_rows(session, threshold=threshold),
        threshold=threshold,
        parameters=parameters,
        first_day=first_day,
        last_day=last_day,
    )
    path = out_dir / "report.html"
    path.write_text(html, encoding="utf-8")
    return path
