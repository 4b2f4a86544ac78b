"""`epitrace feed`: propose, review and publish exposure windows; export and verify the signed feed."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from epitrace import settings
from epitrace.cli._common import FORMAT_OPTION, OutputFormat, cli_actor, console, echo, emit, engine
from epitrace.domain.statuses import PublicationStatus
from epitrace.errors import InputError
from epitrace.storage.db import read_session, write_session
from epitrace.storage.scope import EVERYWHERE

feed_app = typer.Typer(help="The public exposure feed: redacted windows, approved by a supervisor, signed and chained.")
KEY_OPTION = typer.Option(None, "--key", help="Signing key (default EPITRACE_FEED_KEY).")


def _key_path(key: Path | None) -> Path:
    return key or Path(settings.Settings.from_env().feed_key)


@feed_app.command("keygen")
def keygen(key: Path | None = KEY_OPTION) -> None:
    """Create the feed's Ed25519 signing key; prints the public key to give to residents' apps.

    Example:

    \b
        epitrace feed keygen --key /etc/epitrace/feed-signing-key.pem
    """
    from epitrace.feed import generate_key

    public = generate_key(_key_path(key))
    console.print(f"Signing key written to {_key_path(key)} (keep it secret). Public key: {public}")


@feed_app.command("propose")
def propose(case_id: int = typer.Option(..., "--case", help="Case whose exposure windows to propose.")) -> None:
    """Propose a case's exposure windows for publication; redaction runs and says what it did.

    Example:

    \b
        epitrace feed propose --case 12
    """
    from epitrace.storage.publication import propose_case_windows

    with write_session(engine()) as session:
        for p in propose_case_windows(session, EVERYWHERE, case_id, actor=cli_actor()):
            if p.refusal:
                console.print(f"window {p.window_id}: not proposed ({p.refusal})")
            else:
                console.print(f"window {p.window_id}: proposal {p.proposal_id}" + "".join(f"\n  - {c}" for c in p.changes)
                              + "".join(f"\n  ! {w}" for w in p.warnings))


@feed_app.command("review")
def review(status: PublicationStatus = typer.Option(PublicationStatus.PROPOSED, "--status", help="Only proposals in this state."),
           fmt: OutputFormat = FORMAT_OPTION) -> None:
    """List publication proposals with what redaction changed and any warnings.

    Example:

    \b
        epitrace feed review --format table
    """
    from epitrace.storage.publication import list_proposals

    with read_session(engine()) as session:
        rows = [{**r, "changes": "; ".join(r["changes"]), "warnings": "; ".join(r["warnings"])}
                for r in list_proposals(session, EVERYWHERE, status=status)]
    emit(rows, fmt, title="Publication proposals")


@feed_app.command("approve")
def approve(proposal_id: int = typer.Argument(help="Proposal id."),
            acknowledge_warnings: bool = typer.Option(False, "--acknowledge-warnings", help="Approve despite warnings.")) -> None:
    """Approve a proposal for the next feed batch (a supervisor's decision, recorded).

    Example:

    \b
        epitrace feed approve 3
    """
    from epitrace.storage.publication import review_proposal

    with write_session(engine()) as session:
        review_proposal(session, EVERYWHERE, proposal_id, approve=True, acknowledge_warnings=acknowledge_warnings, actor=cli_actor())
    console.print(f"Proposal {proposal_id} approved; `epitrace feed publish` puts it in the next batch.")


@feed_app.command("reject")
def reject(proposal_id: int = typer.Argument(help="Proposal id.")) -> None:
    """Reject a proposal (it is never published).

    Example:

    \b
        epitrace feed reject 3
    """
    from epitrace.storage.publication import review_proposal

    with write_session(engine()) as session:
        review_proposal(session, EVERYWHERE, proposal_id, approve=False, acknowledge_warnings=False, actor=cli_actor())
    console.print(f"Proposal {proposal_id} rejected.")


@feed_app.command("publish")
def publish(key: Path | None = KEY_OPTION,
            advice: str = typer.Option("Get tested within 3 days at any test centre, and watch for symptoms for 14 days.",
                                       "--advice", help="What a person who was there should do (shown to them)."),
            out: Path | None = typer.Option(None, "--out", help="Also write the whole current feed to this JSON file.")) -> None:
    """Sign and append a batch with every approved window.

    Example:

    \b
        epitrace feed publish --out public/feed.json
    """
    from epitrace.feed import load_private_key
    from epitrace.storage.publication import current_public_key, feed_document, publish_batch

    private = load_private_key(_key_path(key))
    with write_session(engine()) as session:
        batch = publish_batch(session, private, today=settings.today(), test_info=advice, actor=cli_actor())
        document = feed_document(session, public_key=current_public_key(private), today=settings.today())
    console.print("Nothing approved to publish." if batch is None else
                  f"Published batch {batch.version} ({len(json.loads(batch.payload)['windows'])} window(s)).")
    if out is not None:
        out.write_text(json.dumps(document, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        console.print(f"Feed written to {out}.")


def load_feed(source: str) -> dict:
    """A feed from a file or an http(s) URL."""
    if source.startswith(("http://", "https://")):
        import httpx

        try:
            return httpx.get(source, timeout=30).raise_for_status().json()
        except (httpx.HTTPError, ValueError) as exc:
            raise InputError(f"could not fetch the feed from {source}: {exc}") from None
    path = Path(source)
    if not path.is_file():
        raise InputError(f"feed {source!r} is neither a file nor an http(s) URL")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise InputError(f"{path.name} is not JSON: {exc}") from None
    except RecursionError:
        raise InputError(f"{path.name} nests JSON too deeply to be a feed: fetch the feed again") from None


@feed_app.command("verify")
def verify(source: str = typer.Argument(help="Feed file or URL."),
           public_key: str | None = typer.Option(None, "--public-key", help="The authority's public key (base64 or PEM file).")) -> None:
    """Check the feed's signatures and chain; exits 1 and names the first bad batch.

    Example:

    \b
        epitrace feed verify https://health.example/feed/ --public-key MCowBQYDK2VwAyEA...
    """
    from epitrace.feed import verify_feed

    key_text = Path(public_key).read_text() if public_key and Path(public_key).is_file() else public_key
    result = verify_feed(load_feed(source), public_key=key_text)
    if not result.ok:
        echo(f"Error: the feed does not verify: {result.problem}", err=True)
        raise typer.Exit(1)
    console.print(f"The feed verifies: {result.batches} batch(es), signatures checked against {result.key_source}.")


@feed_app.command("publish-venue")
def publish_venue(
    qr_url: str = typer.Option(..., "--qr-url", help="The venue's check-in QR link (from the poster or a case's check-in)."),
    start: str = typer.Option(..., "--start", help="Window start, ISO-8601 with offset."),
    end: str = typer.Option(..., "--end", help="Window end, ISO-8601 with offset."),
    message: str = typer.Option("Get tested within 3 days and watch for symptoms for 14 days.", "--message",
                                help="Shown, decrypted, only to people who checked in there."),
    key: Path | None = KEY_OPTION,
) -> None:
    """Publish a venue exposure window that only visitors who checked in can read (CWA/CrowdNotifier design).

    Example:

    \b
        epitrace feed publish-venue --qr-url "https://e.coronawarn.app?v=1#..." \\
            --start 2026-03-09T18:00+00:00 --end 2026-03-09T20:00+00:00
    """
    from datetime import timedelta

    from epitrace.checkin import publish_window
    from epitrace.cli._common import parse_datetime
    from epitrace.feed import load_private_key
    from epitrace.storage.publication import append_batch

    window = publish_window(qr_url, start=parse_datetime(start, option="--start"), end=parse_datetime(end, option="--end"),
                            message=message)
    expires = parse_datetime(end, option="--end").date() + timedelta(days=14)
    with write_session(engine()) as session:
        batch = append_batch(session, load_private_key(_key_path(key)), content={"venue_windows": [window.to_dict()]},
                             advice=message, expires_on=expires, actor=cli_actor())
    console.print(f"Published venue window in batch {batch.version}; it names no venue and no visitor.")
