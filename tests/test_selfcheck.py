"""`epitrace check`: the resident's trail and check-ins against the verified feed, explained in words."""

from __future__ import annotations

import json
from datetime import date, datetime, timezone

import pytest

from epitrace.checkin import check_in, create_venue
from tests.test_feed import published_feed  # noqa: F401 - builds a signed two-batch feed through the CLI


@pytest.fixture(autouse=True)
def outbreak_clock(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("EPITRACE_TODAY", "2026-03-15")


def test_trail_inside_a_published_window_is_explained(cli) -> None:
    document, public, _ = published_feed(cli)
    # Stays as lat,lon,start,end: at the café 18:30-19:40 UTC on 9 March (inside 18:00-20:00), then elsewhere.
    (cli.cwd / "trail.csv").write_text("lat,lon,start,end\n52.3701,4.8901,2026-03-09T18:30:00Z,2026-03-09T19:40:00Z\n"
                                       "52.30,4.70,2026-03-09T20:30:00Z,2026-03-09T23:00:00Z\n")
    result = cli("check", "--trail", "trail.csv", "--feed", "feed.json", "--public-key", public)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.startswith("Checked 2 published exposure window(s) from 2 verified batch(es) (signatures checked against "
                          "the pinned public key). Nothing was sent anywhere.")
    assert "Exposure at Blue Door Café on 2026-03-09, 18:00-20:00 UTC (70 minutes of overlap)." in out
    assert "Why it counts: someone who later tested positive was there then; your location history puts you within" in out
    assert "70 minutes inside the window, at least the 15 minutes that count." in out
    assert "What to do: Get tested within 3 days" in out


def test_no_exposure_and_a_forged_feed(cli) -> None:
    document, public, _ = published_feed(cli)
    (cli.cwd / "trail.csv").write_text("lat,lon,start,end\n52.30,4.70,2026-03-09T18:30:00Z,2026-03-09T19:40:00Z\n")
    clean = cli("check", "--trail", "trail.csv", "--feed", "feed.json", "--public-key", public)
    assert "No exposure found: your trail and check-ins do not overlap any published window." in clean.stdout
    document["batches"][0]["payload"]["windows"][0]["lat"] = 52.30
    (cli.cwd / "forged.json").write_text(json.dumps(document))
    forged = cli("check", "--trail", "trail.csv", "--feed", "forged.json", "--public-key", public)
    assert (forged.exit_code, forged.stderr.strip()) == (
        1, "Error: the feed does not verify, so it is not used: batch 1: its content does not match its hash")


def test_checkins_match_a_venue_window(cli) -> None:
    _, public, key = published_feed(cli)
    venue = create_venue("Old Anchor Cinema", "Harbour 1")
    visit = check_in(venue.qr_url, arrival=datetime(2026, 3, 10, 19, 0, tzinfo=timezone.utc),
                     departure=datetime(2026, 3, 10, 21, 0, tzinfo=timezone.utc))
    elsewhere = check_in(create_venue("Gym", "Street 2").qr_url, arrival=datetime(2026, 3, 10, 19, 0, tzinfo=timezone.utc),
                         departure=datetime(2026, 3, 10, 21, 0, tzinfo=timezone.utc))
    (cli.cwd / "checkins.json").write_text(json.dumps([visit.to_dict(), elsewhere.to_dict()]))
    assert cli("feed", "publish-venue", "--qr-url", venue.qr_url, "--start", "2026-03-10T20:00+00:00",
               "--end", "2026-03-10T22:00+00:00", "--key", str(key)).exit_code == 0
    cli("feed", "publish", "--key", str(key), "--out", "feed.json")  # nothing new approved: just writes the feed
    feed_text = (cli.cwd / "feed.json").read_text()
    assert "Old Anchor Cinema" not in feed_text  # the published window names no venue
    result = cli("check", "--checkins", "checkins.json", "--feed", "feed.json", "--public-key", public)
    assert "Exposure at Old Anchor Cinema on 2026-03-10, 20:00-22:00 UTC (60 minutes of overlap)." in result.stdout
    assert result.stdout.count("Exposure at") == 1


def test_a_trail_with_no_stays_is_an_error_not_an_all_clear_9() -> None:
    import polars as pl

    from epitrace.errors import InputError
    from epitrace.selfcheck import self_check

    empty = pl.DataFrame(schema={"person_id": pl.Int64, "lat": pl.Float64, "lon": pl.Float64, "start": pl.Int64,
                                 "end": pl.Int64})
    with pytest.raises(InputError, match="yields no stays .* so there is nothing to check"):
        self_check({"batches": []}, trail=empty, public_key=None, today=date(2026, 3, 15))
