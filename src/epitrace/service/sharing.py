"""A case's share upload (``POST /api/share`` and the share page): the one-time code is checked
before the body is read, and the body is read as a stream, with a limit.

The code comes first (issue 10, point 4): in the ``X-Share-Code`` header or the ``code`` query
parameter, checked before a byte of the body is read; or as the form field ``code`` before any
file, as the share page's form sends it, checked as soon as the first file begins. A wrong,
used or expired code is refused there, so a stranger cannot make the service read (or parse) a
large upload. Each wrong code counts against the sender's address in the database (``storage.signin``'s
share key), so every worker process sees one count. The
body itself is parsed part by part as it arrives; ``service.limits.BodyLimit`` stops it at
``EPITRACE_MAX_UPLOAD_BYTES``, and a form field that is not a file is at most
``limits.CSV_FIELD`` long.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from sqlalchemy.orm import Session
from starlette.requests import Request

from epitrace.domain import limits
from epitrace.errors import EpitraceError, InputError, TooManyRequests
from epitrace.service.auth import client_address
from epitrace.storage.sharing import TOO_MANY, Shared, check_code_limited, share, share_throttled_for

MAX_PARTS = 8
"""A share form has four parts: code, trail, check-ins, consent."""


@dataclass
class ShareUpload:
    """What a share request sent: the code, the consent and the files, as ``(filename, bytes)``."""

    code: str = ""
    fields: dict[str, str] = field(default_factory=dict)
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)

    @property
    def consent(self) -> bool:
        return self.fields.get("consent", "").strip().lower() in ("true", "on", "1", "yes")


def _check(request: Request, code: str) -> None:
    """The code is valid now, or NotFound, counted against the sender's address in the database (every
    worker shares the count); 429 once the address has tried too many. Runs before the request's own
    transaction has run a statement (see ``storage.signin.limited_check``)."""
    check_code_limited(request.app.state.engine, code, address=client_address(request))


async def receive_share(request: Request, db: Session, *, code: str | None = None) -> Shared:
    """Check the code, read the upload, and share it (``storage.sharing.share``).

    ``code`` is the code from a header or the query string, if the caller sent it there. What was
    read so far is kept in ``request.state.share_upload``, for a page to show the code again with an error.
    """
    wait = share_throttled_for(request.app.state.engine, address=client_address(request))
    if wait:  # before a byte of the body is read
        raise TooManyRequests(f"{TOO_MANY}: try again in {wait} second(s)", headers={"Retry-After": str(wait)})
    upload = ShareUpload(code=code or "")
    request.state.share_upload = upload
    if code is not None:
        _check(request, code)
    await _read_form(request, upload, check=lambda found: _check(request, found) if code is None else None)
    trail, checkins = _parse_files(upload)
    # The code was right a moment ago; if it is used up by now (a second upload with it, at once), that
    # NotFound is no guess and is not counted.
    return share(db, upload.code, trail=trail, checkins=checkins, consent=upload.consent)


async def _read_form(request: Request, upload: ShareUpload, *, check) -> None:  # type: ignore[no-untyped-def]
    """Parse the multipart body part by part; ``check(code)`` runs once, before the first file's
    bytes (or at the end when there is no file)."""
    content_type, options = parse_options_header(request.headers.get("content-type", ""))
    state = _Parts(upload, check)
    if content_type == b"application/x-www-form-urlencoded":  # a form without files: nothing to stream
        async with request.form() as form:
            upload.fields.update({name: value for name, value in form.items() if isinstance(value, str)})
        state.run_check()
        return
    if content_type != b"multipart/form-data" or not options.get(b"boundary"):
        raise InputError("send the share upload as multipart/form-data (a form with the fields code and consent, "
                         "and the files trail and/or checkins)")
    parser = MultipartParser(options[b"boundary"], callbacks=state.callbacks())
    try:
        async for chunk in request.stream():
            if chunk:
                parser.write(chunk)
        parser.finalize()
    except MultipartParseError:
        raise InputError("the upload is not a well-formed multipart form: send it from the share page, or as "
                         "multipart/form-data with the fields code and consent and the files trail and/or checkins") from None
    if not state.checked:
        state.run_check()


class _Parts:
    """Callbacks of python-multipart's streaming parser, collecting the parts of one share form."""

    def __init__(self, upload: ShareUpload, check) -> None:  # type: ignore[no-untyped-def]
        self.upload, self.check, self.checked = upload, check, False
        self.parts = 0
        self.headers: dict[bytes, bytes] = {}
        self.header_field = self.header_value = b""
        self.name, self.filename, self.data = "", None, bytearray()  # type: ignore[var-annotated]

    def callbacks(self) -> dict:  # type: ignore[type-arg]
        return {"on_part_begin": self.begin, "on_header_field": self.on_field, "on_header_value": self.on_value,
                "on_header_end": self.header_end, "on_headers_finished": self.headers_finished,
                "on_part_data": self.part_data, "on_part_end": self.part_end}

    def run_check(self) -> None:
        self.checked = True
        self.upload.code = self.upload.code or self.upload.fields.get("code", "")
        self.check(self.upload.code)

    def begin(self) -> None:
        self.parts += 1
        if self.parts > MAX_PARTS:
            raise InputError(f"the share form has more than {MAX_PARTS} parts: send code, consent, trail and checkins only")
        self.headers, self.header_field, self.header_value = {}, b"", b""
        self.name, self.filename, self.data = "", None, bytearray()

    def on_field(self, data: bytes, start: int, end: int) -> None:
        self.header_field += data[start:end]

    def on_value(self, data: bytes, start: int, end: int) -> None:
        self.header_value += data[start:end]

    def header_end(self) -> None:
        self.headers[self.header_field.lower()] = self.header_value
        self.header_field = self.header_value = b""

    def headers_finished(self) -> None:
        _, options = parse_options_header(self.headers.get(b"content-disposition", b""))
        self.name = options.get(b"name", b"").decode("utf-8", "replace")
        filename = options.get(b"filename")
        self.filename = None if filename is None else filename.decode("utf-8", "replace")
        if self.filename is not None and not self.checked:
            self.run_check()  # the code came first, or not at all: nothing of a file is read with a wrong one

    def part_data(self, data: bytes, start: int, end: int) -> None:
        self.data += data[start:end]
        if self.filename is None and len(self.data) > limits.CSV_FIELD:
            raise InputError(f"the form field {self.name[:40]!r} is longer than {limits.CSV_FIELD:,} bytes: "
                             "send files as files")

    def part_end(self) -> None:
        if self.filename is None:
            try:
                self.upload.fields[self.name] = self.data.decode("utf-8")
            except UnicodeDecodeError:
                raise InputError(f"the form field {self.name[:40]!r} is not UTF-8 text") from None
            if self.name == "code" and not self.upload.code:
                self.upload.code = self.upload.fields["code"]
        elif self.filename:  # a browser sends an empty part for a file input left empty
            self.upload.files[self.name] = (self.filename, bytes(self.data))
        self.data = bytearray()


def _parse_files(upload: ShareUpload) -> tuple:  # type: ignore[type-arg]
    """The trail as presences and the check-ins, each None when not sent."""
    trail = checkins = None
    if "trail" in upload.files:
        from epitrace.trails import read_trail

        filename, data = upload.files["trail"]
        trail = read_trail(data, name=filename)
    if "checkins" in upload.files:
        from epitrace.checkin import CheckIn

        try:
            items = json.loads(upload.files["checkins"][1])
            if not isinstance(items, list):
                raise TypeError
            checkins = [CheckIn.from_dict(item) for item in items]
        except EpitraceError:
            raise
        except (ValueError, KeyError, TypeError, AttributeError, RecursionError):
            # ValueError: not JSON, not UTF-8, or a number of more than 4,300 digits; RecursionError: nested
            # too deeply for Python's parser.
            raise InputError("the check-ins file is not a list saved by the check-in page: download it from the "
                             "check-in page again") from None
    if trail is None and checkins is None:
        raise InputError("nothing to share: attach your location history, your check-ins, or both")
    return trail, checkins
