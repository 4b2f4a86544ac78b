"""`epitrace report`: epidemic curve, Rt, transmission chains, KPIs and clusters, as HTML and PDF.

Everything in it is aggregate and comes from one release of ``storage.aggregates.overview`` for
the caller's scope: counts below the small-count threshold and the cells that would give them
away are suppressed, Rt is shown only where the curve is released, chains are drawn without
identifiers (and only from the threshold size up), and households are never named. What the
report drew is written beside it as ``report.json``.
"""

from __future__ import annotations

import base64
import io
import json
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure
from sqlalchemy.orm import Session

from epitrace.analytics.defaults import DEFAULT_SI_MEAN, DEFAULT_SI_SD
from epitrace.files import open_private, private_dir, write_private_bytes, write_private_text
from epitrace.reports.figures import chains_figure, epicurve_figure, rt_figure
from epitrace.storage import aggregates
from epitrace.storage.audit import Actor
from epitrace.storage.scope import Scope


@dataclass(frozen=True)
class ReportOptions:
    """What the report shows and how (the small-count threshold is a setting, not an option)."""

    today: date
    si_mean: float = DEFAULT_SI_MEAN
    si_sd: float = DEFAULT_SI_SD
    by: str = "report"
    extra_html: str = ""
    """A section to add first (the demo adds its ground-truth summary)."""
    title: str = "Outbreak report"
    notes: list[str] = field(default_factory=list)


def build_report(session: Session, out_dir: Path, options: ReportOptions, *, scope: Scope, actor: Actor) -> Path:
    """Write ``report.html``, ``report.pdf``, ``report.json`` and the figures as PNG into ``out_dir``; return the HTML path.

    The report covers ``scope`` only; reading it writes one audit entry.
    """
    private_dir(out_dir)  # the report's files are owner-only, like every file epitrace writes (issue 10)
    released = aggregates.overview(session, scope, actor=actor, today=options.today, by=options.by,  # type: ignore[arg-type]
                                   si_mean=options.si_mean, si_sd=options.si_sd, name="report")
    t = released.threshold
    figures: dict[str, Figure] = {}
    notes = list(options.notes)
    curve = released.curve
    if not curve.frame.is_empty():
        figures["epicurve"] = epicurve_figure(curve.frame, threshold=t, title=f"New cases by {options.by} date")
    if curve.undated != 0:
        notes.append(f"{curve.undated} case(s) have no {options.by} date and are not in the curve.")
    rt = released.rt
    if rt.frame is not None and not rt.frame.is_empty():
        figures["rt"] = rt_figure(rt.frame, first_day=rt.first_day, si=f"mean {options.si_mean:g} d, sd {options.si_sd:g} d")  # type: ignore[arg-type]
    if rt.frame is None:
        notes.append("Rt needs at least 8 days of incidence; not shown.")
    elif rt.frame.is_empty():
        notes.append("Rt is not shown: every 7-day window includes a day whose count is suppressed.")
    elif rt.withheld:
        notes.append(f"Rt is not shown for {rt.withheld} window(s) that include a day whose count is suppressed.")
    assert released.chains is not None and released.clusters is not None
    chains, _ = chains_figure(released.chains.forest, min_chain=t)
    figures["chains"] = chains
    notes.append(f"{released.chains.small} chain(s) smaller than {t} cases are not drawn.")
    kpi_rows = [format_kpi(r) for r in released.kpis.rows]
    clusters = released.clusters.rows
    images = {}
    for name, fig in figures.items():
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png")
        write_private_bytes(out_dir / f"{name}.png", buffer.getvalue())
        images[name] = base64.b64encode(buffer.getvalue()).decode()
    write_private_text(out_dir / "report.json", json.dumps(released.tables(), indent=2, default=str) + "\n")
    env = Environment(loader=PackageLoader("epitrace.reports"), autoescape=select_autoescape())
    html = env.get_template("report.html").render(
        options=options, images=images, kpis=kpi_rows, clusters=clusters, notes=notes, threshold=t,
        total_cases=curve.total, jurisdiction=released.jurisdiction,
    )
    path = out_dir / "report.html"
    write_private_text(path, html)
    _write_pdf(out_dir / "report.pdf", figures, kpi_rows, clusters, options)
    for fig in figures.values():
        fig.clf()
    import matplotlib.pyplot as plt

    plt.close("all")
    return path


def format_kpi(row: dict) -> dict:
    """A released KPI row for people: the value as a share or days ("n/a" when withheld or undefined)."""
    value = row["value"]
    if value is None:
        text = "n/a"
    elif "share" in row["kpi"]:
        text = f"{100 * value:.0f}%"
    else:
        text = f"{value:g} days"
    return {"kpi": row["kpi"], "value": text, "denominator": row["denominator"], "definition": row["definition"]}



def _write_pdf(path: Path, figures: dict[str, Figure], kpi_rows: list[dict], clusters: list[dict], options: ReportOptions) -> None:
    import matplotlib.pyplot as plt

    with open_private(path, "wb") as handle, PdfPages(handle) as pdf:
        for fig in figures.values():
            pdf.savefig(fig)
        for title, columns, rows in (
            ("Operational KPIs", ["kpi", "value", "denominator"], kpi_rows),
            ("Clusters (largest first)", ["where", "setting", "cases", "first", "last", "status"], clusters[:30]),
        ):
            fig, ax = plt.subplots(figsize=(9, 0.4 * (len(rows) + 3)), dpi=150)
            ax.axis("off")
            ax.set_title(f"{options.title}: {title}", loc="left")
            if rows:
                table = ax.table(cellText=[[str(r[c]) for c in columns] for r in rows], colLabels=columns, loc="upper left",
                                 cellLoc="left")
                table.auto_set_font_size(False)
                table.set_fontsize(8)
                table.auto_set_column_width(list(range(len(columns))))
            pdf.savefig(fig)
            plt.close(fig)
