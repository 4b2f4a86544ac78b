"""The check-in page keeps visits in the browser; its export works with the self-check."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from epitrace.api import create_app
from epitrace.checkin import CheckIn, create_venue
from epitrace.storage.db import make_engine
from tests.browser_support import launch_chromium, live_server

pytestmark = pytest.mark.slow  # drives Chromium; run by make test-all / test-pg and CI


def test_poster_command_and_check_in_page(cli, db_url, tmp_path) -> None:
    made = cli("venues", "poster", "Blue Door Café", "--address", "3 Harbour Street", "--out", "poster.svg",
               "--base-url", "https://health.example")
    assert made.exit_code == 0, made.output
    assert "Blue Door Café" in (cli.cwd / "poster.svg").read_text()
    assert "https://health.example/checkin#" in made.stdout
    venue = create_venue("Old Anchor Cinema", "Harbour 1")
    fragment = venue.qr_url.split("#", 1)[1]
    requests: list[str] = []
    with live_server(create_app(make_engine(db_url))) as base, sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        context = browser.new_context(accept_downloads=True)
        page = context.new_page()
        page.on("request", lambda r: requests.append(r.url))
        page.goto(f"{base}/checkin#{fragment}")
        page.get_by_role("button", name="Check in now").click()
        page.get_by_role("button", name="I'm leaving").click()
        stored = json.loads(page.evaluate("localStorage.getItem('epitrace-checkins')"))
        with page.expect_download() as download:
            page.get_by_role("button", name="Download my check-ins").click()
        exported = json.loads(Path(download.value.path()).read_text(encoding="utf-8"))
        browser.close()
    assert len(stored) == 1 and stored[0]["qr_url"] == venue.qr_url and stored[0]["departure"] >= stored[0]["arrival"] + 60
    assert CheckIn.from_dict(exported[0]).location_id_hash == venue.location_id_hash
    # The page, its stylesheet and its script (no inline script: issue 10); the venue code (the fragment)
    # never reached the server.
    assert sorted(requests) == [f"{base}/checkin", f"{base}/static/checkin.js", f"{base}/static/epitrace.css"]
