"""The self-check page matches in the browser: the trail never leaves the page (proved by watching every request)."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from epitrace.api import create_app
from epitrace.storage.db import make_engine
from tests.browser_support import launch_chromium, live_server
from tests.test_feed import published_feed

TRAIL = ("lat,lon,start,end\n52.37013,4.89012,2026-03-09T18:30:00Z,2026-03-09T19:40:00Z\n"
         "52.30417,4.70123,2026-03-09T20:30:00Z,2026-03-09T23:00:00Z\n")


def test_trail_is_matched_in_the_page_and_never_sent(cli, db_url, monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("EPITRACE_TODAY", "2026-03-15")
    _, _, key = published_feed(cli)
    monkeypatch.setenv("EPITRACE_FEED_KEY", str(key))
    trail = tmp_path / "my-trail.csv"
    trail.write_text(TRAIL)
    requests: list[tuple[str, str, str]] = []
    with live_server(create_app(make_engine(db_url))) as base, sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        page = browser.new_page()
        page.on("request", lambda r: requests.append((r.method, r.url, r.post_data or "")))
        page.goto(f"{base}/selfcheck")
        page.get_by_text("The feed verifies: 2 signed batch(es), 2 current window(s).").wait_for()
        loaded = len(requests)
        page.set_input_files("#trail", str(trail))
        finding = page.get_by_test_id("finding")
        finding.wait_for()
        text = finding.inner_text()
        page.wait_for_timeout(500)  # anything the page might still send would show up here
        screenshots = Path(__file__).resolve().parents[1] / "screenshots"
        screenshots.mkdir(exist_ok=True)
        page.screenshot(path=str(screenshots / "selfcheck.png"), full_page=True)
        browser.close()
    assert text.startswith("Exposure at Blue Door Café on 2026-03-09, 18:00-20:00 UTC (70 minutes of overlap).")
    assert "What to do: Get tested within 3 days" in text
    assert len(requests) == loaded, f"the page made requests after the file was chosen: {requests[loaded:]}"
    assert [(m, u.removeprefix(base)) for m, u, _ in requests] == [("GET", "/selfcheck"), ("GET", "/feed/")]
    for _, url, body in requests:
        for secret in ("52.37013", "4.89012", "52.30417", "my-trail"):
            assert secret not in url and secret not in body


@pytest.fixture(autouse=True)
def _clock(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("EPITRACE_TODAY", "2026-03-15")
