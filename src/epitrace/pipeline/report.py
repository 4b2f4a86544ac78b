"""The demo's own section of the report: what tracing achieved against the synthetic ground truth."""

from __future__ import annotations

from datetime import date

from jinja2 import Environment, PackageLoader, select_autoescape

from epitrace.pipeline.evaluation import DemoSummary


def summary_html(summary: DemoSummary, *, parameters: dict, first_day: date, last_day: date) -> str:
    """HTML for the demo summary (totals only: no person, no small breakdowns)."""
    env = Environment(loader=PackageLoader("epitrace.pipeline"), autoescape=select_autoescape())
    return env.get_template("summary.html").render(summary=summary, parameters=parameters, first_day=first_day, last_day=last_day)
