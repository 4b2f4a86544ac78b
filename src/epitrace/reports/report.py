"""`epitrace report`: epidemic curve, Rt, transmission chains, KPIs and clusters, as HTML and PDF.

Everything in it is aggregate: counts below the small-count threshold are suppressed, chains
are drawn without identifiers (and only from the threshold size up), and residential places are
never named.
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import polars as pl
from jinja2 import Environment, PackageLoader, select_autoescape
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure
from sqlalchemy.orm import Session

from epitrace.analytics.curves import epicurve, epicurve_missing, kpis, most_likely_tree, setting_clusters
from epitrace.analytics.rt import DEFAULT_SI_MEAN, DEFAULT_SI_SD, rt_from_daily_counts
from epitrace.domain.privacy import suppress_small
from epitrace.domain.statuses import RESIDENTIAL_KINDS
from epitrace.reports.figures import chains_figure, epicurve_figure, rt_figure
from epitrace.storage import audit
from epitrace.storage.analytics import cases_frame, contact_tasks_frame, links_frame, place_clusters_frame
from epitrace.storage.audit import Actor


@dataclass(frozen=True)
class ReportOptions:
    """What the report shows and how."""

    today: date
    threshold: int = 5
    si_mean: float = DEFAULT_SI_MEAN
    si_sd: float = DEFAULT_SI_SD
    by: str = "report"
    extra_html: str = ""
    """A section to add first (the demo adds its ground-truth summary)."""
    title: str = "Outbreak report"
    notes: list[str] = field(default_factory=list)


def build_report(session: Session, out_dir: Path, options: ReportOptions, *, actor: Actor) -> Path:
    """Write ``report.html``, ``report.pdf`` and the figures as PNG into ``out_dir``; return the HTML path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    audit.record(session, actor, action="report", record_type="aggregate", record_id=str(out_dir), person_id=None)
    cases = cases_frame(session)
    links = links_frame(session)
    t = options.threshold
    curve = epicurve(cases, by=options.by, interval="day")  # type: ignore[arg-type]
    figures: dict[str, Figure] = {}
    notes = list(options.notes)
    if not curve.is_empty():
        figures["epicurve"] = epicurve_figure(curve, threshold=t, title=f"New cases by {options.by} date")
        missing = epicurve_missing(cases, by=options.by)  # type: ignore[arg-type]
        if missing:
            notes.append(f"{suppress_small(missing, threshold=t)} case(s) have no {options.by} date and are not in the curve.")
    rt = rt_from_daily_counts(curve["cases"], si_mean=options.si_mean, si_sd=options.si_sd) if not curve.is_empty() else None
    if rt is not None and not rt.is_empty():
        figures["rt"] = rt_figure(rt, first_day=curve["period"][0], si=f"mean {options.si_mean:g} d, sd {options.si_sd:g} d")
    else:
        notes.append("Rt needs at least 8 days of incidence; not shown.")
    chains, small = chains_figure(most_likely_tree(links), min_chain=t)
    figures["chains"] = chains
    notes.append(f"{small} chain(s) smaller than {t} cases are not drawn.")
    kpi_rows = [_kpi_row(r) for r in kpis(cases, contact_tasks_frame(session), today=options.today).iter_rows(named=True)]
    clusters = _cluster_rows(place_clusters_frame(session), setting_clusters(links, cases), threshold=t)
    images = {}
    for name, fig in figures.items():
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png")
        (out_dir / f"{name}.png").write_bytes(buffer.getvalue())
        images[name] = base64.b64encode(buffer.getvalue()).decode()
    env = Environment(loader=PackageLoader("epitrace.reports"), autoescape=select_autoescape())
    html = env.get_template("report.html").render(
        options=options, images=images, kpis=kpi_rows, clusters=clusters, notes=notes, threshold=t,
        total_cases=suppress_small(cases.height, threshold=t),
    )
    path = out_dir / "report.html"
    path.write_text(html, encoding="utf-8")
    _write_pdf(out_dir / "report.pdf", figures, kpi_rows, clusters, options)
    for fig in figures.values():
        fig.clf()
    import matplotlib.pyplot as plt

    plt.close("all")
    return path


def _kpi_row(row: dict) -> dict:
    value = row["value"]
    if value is None:
        shown = "n/a"
    elif "share" in row["kpi"]:
        shown = f"{100 * value:.0f}%"
    else:
        shown = f"{value:g} days"
    return {"kpi": row["kpi"], "value": shown, "denominator": row["denominator"], "definition": row["definition"]}


def _cluster_rows(places: pl.DataFrame, settings: pl.DataFrame, *, threshold: int) -> list[dict]:
    rows = []
    for r in places.iter_rows(named=True):
        residential = r["kind"] in {k.value for k in RESIDENTIAL_KINDS}
        rows.append({
            "kind": "place", "where": "a household (not named)" if residential else r["place"],
            "setting": r["kind"], "cases": suppress_small(r["cases"], threshold=threshold),
            "first": r["first"], "last": r["last"], "status": r["status"],
        })
    for r in settings.iter_rows(named=True):
        rows.append({
            "kind": "setting", "where": f"around one case ({r['setting']})", "setting": r["setting"],
            "cases": suppress_small(r["cases"], threshold=threshold), "first": r["first"], "last": r["last"],
            "status": "linked",
        })
    return rows


def _write_pdf(path: Path, figures: dict[str, Figure], kpi_rows: list[dict], clusters: list[dict], options: ReportOptions) -> None:
    import matplotlib.pyplot as plt

    with PdfPages(path) as pdf:
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
