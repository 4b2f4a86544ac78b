"""Bounded input (issue 10, point 4): the request-size cap, the share code before the upload, parse errors
in the one shape on every JSON route, bounds on every schema field, and the CSV reader's limits."""

from __future__ import annotations

import asyncio
import inspect
import json
import re
import types
import typing
from collections.abc import Iterable
from datetime import date, datetime

import pytest
from fastapi import params
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from pydantic import BaseModel
from sqlalchemy import select

from epitrace.api import create_app
from epitrace.domain import limits
from epitrace.errors import ImportRejected
from epitrace.intake.labs import read_lab_csv
from epitrace.service.limits import UPLOAD_ROUTES
from epitrace.storage.db import write_session
from epitrace.storage.models import Task
from epitrace.storage.sharing import INVALID
from epitrace.tracing.venue_records import _parse as parse_venue_records
from tests import test_api
from tests.conftest import LAB_HEADER, lab_line
from tests.test_api import assert_error_shape, client_for

world = test_api.world  # the fixture: two districts, a case each, an account per role

MiB = 1024 * 1024
CHUNK = 64 * 1024
TRAIL_HEAD = b"lat,lon,start,end\n"


def asgi_call(app, method: str, path: str, *, headers: dict[str, str] | None = None,  # type: ignore[no-untyped-def]
              chunks: Iterable[bytes] = (), query: str = "") -> tuple[int, bytes, int]:
    """Call the app as a server would, the body in ``chunks``; returns (status, body, bytes of the body read)."""
    read = 0
    pending = iter(chunks)
    sent: list[dict] = []

    async def receive() -> dict:
        nonlocal read
        chunk = next(pending, None)
        if chunk is None:
            return {"type": "http.request", "body": b"", "more_body": False}
        read += len(chunk)
        return {"type": "http.request", "body": chunk, "more_body": True}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "https",
             "path": path, "raw_path": path.encode(), "root_path": "", "query_string": query.encode(),
             "headers": [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in (headers or {}).items()],
             "client": ("203.0.113.9", 50000), "server": ("testserver", 443)}
    asyncio.run(app(scope, receive, send))
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    return status, b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body"), read


def filler(total: int) -> Iterable[bytes]:
    """``total`` bytes in CHUNK-sized pieces, made only as they are read."""
    for _ in range(total // CHUNK):
        yield b"x" * CHUNK


def error_of(status: int, body: bytes, expected: int) -> dict:
    data = json.loads(body)
    assert status == expected, data
    assert set(data) == {"ok", "error", "errors", "status"} and data["ok"] is False and data["status"] == expected
    return data


# The request-size cap --------------------------------------------------------------------------------


def test_a_50_mib_body_declared_by_its_length_is_refused_before_a_byte_is_read(world) -> None:
    status, body, read = asgi_call(world["app"], "POST", f"/api/cases/{world['cases']['Ana']}/visits",
                                   headers={"content-type": "application/json", "content-length": str(50 * MiB)},
                                   chunks=filler(50 * MiB))
    error = error_of(status, body, 413)
    assert read == 0  # not authenticated, not parsed, not read
    assert error["error"] == ("the request body is 52,428,800 bytes (50 MiB); at most 2,097,152 bytes (2 MiB) are read "
                              "here: send less in one request, or ask the administrator to raise "
                              "EPITRACE_MAX_REQUEST_BYTES")
    assert error["errors"][0]["field"] == "body"


@pytest.mark.parametrize("signed_in", [False, True])
def test_a_chunked_body_is_refused_as_soon_as_it_passes_the_cap(world, signed_in: bool) -> None:
    headers = {"content-type": "application/json"}  # no Content-Length: chunked
    if signed_in:
        headers["authorization"] = f"Bearer {world['token']}"
    status, body, read = asgi_call(world["app"], "POST", f"/api/cases/{world['cases']['Ana']}/visits",
                                   headers=headers, chunks=filler(50 * MiB))
    assert error_of(status, body, 413)["error"].startswith("the request body is larger; at most 2,097,152 bytes")
    assert 2 * MiB < read <= 2 * MiB + CHUNK  # stopped at the first chunk past the cap


def test_uploads_have_the_upload_cap_and_other_routes_the_request_cap(world, monkeypatch) -> None:
    monkeypatch.setenv("EPITRACE_MAX_REQUEST_BYTES", "1024")
    monkeypatch.setenv("EPITRACE_MAX_UPLOAD_BYTES", str(256 * 1024))
    client = TestClient(create_app(world["engine"]), base_url="https://testserver",
                        headers={"Authorization": f"Bearer {world['token']}"})
    json_over = client.post("/api/persons/merge", json={"keep": 1, "other": 2, "pad": "x" * 2000})
    assert assert_error_shape(json_over, 413)["error"].endswith("EPITRACE_MAX_REQUEST_BYTES")
    labs = (LAB_HEADER + "\n" + "\n".join(lab_line(f"S{i}") for i in range(100)) + "\n").encode()
    assert 1024 < len(labs) < 256 * 1024
    assert client.post("/api/labs", files={"file": ("labs.csv", labs)}).status_code == 403  # read; the tracer may not
    too_big = client.post("/api/labs", files={"file": ("labs.csv", labs * 40)})
    assert assert_error_shape(too_big, 413)["error"].endswith(
        "split the file into smaller files, or ask the administrator to raise EPITRACE_MAX_UPLOAD_BYTES")
    # Without any credential a staff upload gets the small cap: an anonymous client cannot make the
    # server read an upload's worth before its 401.
    anonymous = TestClient(create_app(world["engine"]), base_url="https://testserver")
    refused = anonymous.post("/api/labs", files={"file": ("labs.csv", labs)})
    assert assert_error_shape(refused, 413)["error"].endswith("EPITRACE_MAX_REQUEST_BYTES")
    assert anonymous.post("/api/labs", files={"file": ("labs.csv", labs[:500])}).status_code == 401


def test_the_413_is_a_page_for_a_browser(world) -> None:
    status, body, read = asgi_call(world["app"], "POST", "/share", chunks=filler(70 * MiB),
                                   headers={"content-type": "multipart/form-data; boundary=b", "accept": "text/html",
                                            "content-length": str(70 * MiB)})
    assert (status, read) == (413, 0)
    assert b"<title>413" in body and b"EPITRACE_MAX_UPLOAD_BYTES" in body


def test_every_route_that_reads_a_file_has_the_upload_cap(world) -> None:
    readers = set()
    for route in world["app"].routes:
        if not isinstance(route, APIRoute):
            continue
        source = inspect.getsource(route.endpoint)
        if any(sign in source for sign in ("UploadFile", "File(", ".form()", ".stream()", "receive_share")):
            readers |= {(method, route.path) for method in route.methods}
    assert readers == UPLOAD_ROUTES - {("POST", "/api/labs/rows")}  # lab results as JSON: a lab file's size too


def test_a_content_length_that_is_not_a_number_is_a_400(world) -> None:
    status, body, read = asgi_call(world["app"], "POST", "/api/session", headers={"content-length": "1e9"})
    assert error_of(status, body, 400)["error"] == "the Content-Length header '1e9' is not a number of bytes: send the body's length"


# The share upload: the code before the body ----------------------------------------------------------


def multipart(parts: list[tuple[str, str | None, bytes]], *, boundary: str = "XyZ") -> bytes:
    out = b""
    for name, filename, data in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename is not None else "")
        out += f"--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n".encode() + data + b"\r\n"
    return out + f"--{boundary}--\r\n".encode()


def streamed_share(head: bytes, total: int) -> Iterable[bytes]:
    """A multipart body whose first chunk is ``head`` (fields, the start of a file), then a long trail."""
    yield head
    yield from filler(total)


@pytest.mark.parametrize("path", ["/api/share", "/share"])
def test_a_wrong_code_is_refused_before_the_upload_is_read(world, path: str) -> None:
    multipart_type = {"content-type": "multipart/form-data; boundary=XyZ"}
    head = multipart([("code", None, b"AAAAA-BBBBB")])[:-9] + (
        b'--XyZ\r\nContent-Disposition: form-data; name="trail"; filename="trail.csv"\r\n\r\n' + TRAIL_HEAD)
    # The code as the form's first field: refused when the file begins, nothing after the first chunk is read.
    status, body, read = asgi_call(world["app"], "POST", path, headers=multipart_type, chunks=streamed_share(head, 20 * MiB))
    assert status == 404 and INVALID.encode() in body.replace(b"&#39;", b"'")
    assert read == len(head)
    if path == "/api/share":
        # In a header or the query string: refused before a byte of the body is read.
        for extra, query in (({"x-share-code": "AAAAA-BBBBB"}, ""), ({}, "code=AAAAA-BBBBB")):
            status, body, read = asgi_call(world["app"], "POST", path, headers=multipart_type | extra, query=query,
                                           chunks=streamed_share(TRAIL_HEAD, 20 * MiB))
            assert (status, json.loads(body)["error"], read) == (404, INVALID, 0)


def test_files_before_the_code_are_not_read(world) -> None:
    head = b'--XyZ\r\nContent-Disposition: form-data; name="trail"; filename="trail.csv"\r\n\r\n' + TRAIL_HEAD
    status, body, read = asgi_call(world["app"], "POST", "/api/share",
                                   headers={"content-type": "multipart/form-data; boundary=XyZ"},
                                   chunks=streamed_share(head, 20 * MiB))
    assert (status, json.loads(body)["error"], read) == (404, INVALID, len(head))


def test_wrong_codes_count_against_the_address_and_a_right_one_in_the_header_shares(world, cli) -> None:
    code = cli("share", "issue", "--case", str(world["cases"]["Ana"])).stdout.split(": ", 1)[1].split(" ")[0]
    client = TestClient(world["app"], base_url="https://testserver")
    trail = b"lat,lon,start,end\n52.37,4.89,2026-03-09T18:30:00Z,2026-03-09T19:40:00Z\n"
    ok = client.post("/api/share", headers={"X-Share-Code": code}, data={"consent": "true"},
                     files={"trail": ("trail.csv", trail, "text/csv")})
    assert ok.status_code == 200, ok.text
    for _ in range(5):
        assert client.post("/api/share", params={"code": "WRONG"}, files={"trail": ("t.csv", trail)}).status_code == 404
    throttled = client.post("/api/share", headers={"X-Share-Code": code}, files={"trail": ("t.csv", trail)})
    assert assert_error_shape(throttled, 429)["error"] == (f"too many wrong codes from your address: try again in "
                                                           f"{throttled.headers['Retry-After']} second(s)")
    assert 890 <= int(throttled.headers["Retry-After"]) <= 901
    assert client.post("/share", data={"code": code}).status_code == 429  # the page shares the count


def test_a_malformed_multipart_body_is_a_400_on_every_upload_route(world) -> None:
    client = TestClient(world["app"], base_url="https://testserver", headers={"Authorization": f"Bearer {world['token']}"})
    for path in ("/api/share", "/share", "/api/labs"):
        for content_type in ("multipart/form-data; boundary=XyZ", "multipart/form-data"):
            response = client.post(path, content=b"garbage\r\n--XyZ\r\nbroken", headers={"content-type": content_type})
            assert response.status_code == 400, (path, content_type, response.text[:200])


@pytest.mark.parametrize("checkins", ["[" * 100_000 + "]" * 100_000, '[{"arrival": ' + "9" * 5000 + "}]", "\xff{"])
def test_a_hostile_checkins_file_is_a_400_on_both_share_routes(world, cli, checkins: str) -> None:
    client = TestClient(world["app"], base_url="https://testserver")
    for path in ("/api/share", "/share"):
        code = cli("share", "issue", "--case", str(world["cases"]["Ana"])).stdout.split(": ", 1)[1].split(" ")[0]
        response = client.post(path, data={"code": code, "consent": "true"},
                               files={"checkins": ("c.json", checkins.encode("latin-1"), "application/json")})
        assert response.status_code == 400, (path, response.text[:300])
        assert "the check-ins file is not a list saved by the check-in page" in response.text


# Parse errors on every JSON route --------------------------------------------------------------------


def json_routes(app) -> list[tuple[str, str, type[BaseModel]]]:  # type: ignore[no-untyped-def]
    """(method, path with ids filled in, body model) of every route that takes a JSON body."""
    routes = []
    for route in app.routes:
        forms = any(isinstance(p.field_info, params.Form) for p in route.dependant.body_params) \
            if isinstance(route, APIRoute) else True
        if isinstance(route, APIRoute) and route.body_field is not None and not forms:
            model = route.body_field.field_info.annotation
            if isinstance(model, type) and issubclass(model, BaseModel):
                routes += [(method, re.sub(r"\{[^}]+\}", "1", route.path), model) for method in route.methods]
    return routes


HOSTILE = {
    "deep": b"[" * 100_000 + b"]" * 100_000,
    "deep object": b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
    "5000 digits": b'{"keep": ' + b"9" * 5000 + b', "other": 1, "rows": [], "result": 1}',
    "invalid UTF-8": b'{"place": "\xff\xfe"}',
    "malformed": b'{"place": ',
}


def test_every_json_route_is_listed(world) -> None:
    paths = {(m, p) for m, p, _ in json_routes(world["app"])}
    assert {("POST", "/api/cases/1/visits"), ("PATCH", "/api/cases/1"), ("POST", "/api/labs/rows"),
            ("POST", "/api/persons/merge"), ("POST", "/api/session")} <= paths and len(paths) >= 10, paths


@pytest.mark.parametrize("kind", HOSTILE)
def test_hostile_json_is_a_400_or_422_on_every_json_route(world, kind: str) -> None:
    client = TestClient(world["app"], base_url="https://testserver", headers={"Authorization": f"Bearer {world['token']}"})
    supervisor, anonymous = client_for(world, "supervisor"), TestClient(world["app"], base_url="https://testserver")
    for method, path, _ in json_routes(world["app"]):
        for who in (anonymous, client, supervisor):
            response = who.request(method, path, content=HOSTILE[kind], headers={"content-type": "application/json"})
            assert response.status_code in (400, 422), (kind, method, path, response.text[:200])
            assert_error_shape(response, response.status_code)


def test_not_a_number_is_refused_where_a_number_is_bounded(world) -> None:
    client = TestClient(world["app"], base_url="https://testserver", headers={"Authorization": f"Bearer {world['token']}"})
    body = b'{"place": "X", "lat": NaN, "lon": Infinity, "start": "2026-03-09T18:00:00Z", "end": "2026-03-09T19:00:00Z"}'
    response = client.post("/api/cases/1/visits", content=body, headers={"content-type": "application/json"})
    assert {e["field"] for e in assert_error_shape(response, 422)["errors"]} == {"body.lat", "body.lon"}


def test_parse_errors_say_what_is_wrong(world) -> None:
    client = TestClient(world["app"], base_url="https://testserver", headers={"Authorization": f"Bearer {world['token']}"})

    def error(body: bytes) -> str:
        return client.post("/api/persons/merge", content=body, headers={"content-type": "application/json"}).json()["error"]

    assert error(HOSTILE["deep"]) == "the body nests JSON too deeply to read: send a flat JSON object"
    assert error(HOSTILE["5000 digits"]) == ("the body has a number with more than 4,300 digits: send ids and counts as "
                                             "ordinary numbers")
    assert error(HOSTILE["invalid UTF-8"]) == "the body is not UTF-8 text (byte 0xff at offset 11): send UTF-8 JSON"
    assert error(b'{"keep": ') == ("body.9: the body is not valid JSON at character 9 (Expecting value): send a JSON "
                                   "object")


# Bounds on every schema field ------------------------------------------------------------------------


def _fields(model: type[BaseModel], seen: set | None = None):  # type: ignore[no-untyped-def, type-arg]
    seen = seen or set()
    for name, info in model.model_fields.items():
        yield model, name, info
        for arg in typing.get_args(info.annotation) or (info.annotation,):
            if isinstance(arg, type) and issubclass(arg, BaseModel) and arg not in seen:
                seen.add(arg)
                yield from _fields(arg, seen)


def _metadata(annotation) -> list:  # type: ignore[no-untyped-def, type-arg]
    """The constraints inside ``annotation`` (an ``Annotated`` type, or one inside ``X | None``)."""
    if typing.get_origin(annotation) is typing.Annotated:
        return [m for meta in annotation.__metadata__ for m in (getattr(meta, "metadata", None) or [meta])]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return [m for arg in typing.get_args(annotation) for m in _metadata(arg)]
    return []


def _constraints(info) -> dict:  # type: ignore[no-untyped-def]
    found = {}
    for meta in [*info.metadata, *_metadata(info.annotation)]:
        for key in ("max_length", "le", "ge", "pattern"):
            if getattr(meta, key, None) is not None:
                found[key] = getattr(meta, key)
    return found


def _kinds(annotation) -> set:  # type: ignore[no-untyped-def]
    """The scalar types a field takes (a list or a mapping counts as one kind, its own)."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Annotated:
        return _kinds(args[0])
    if origin in (typing.Union, types.UnionType):
        return {k for a in args for k in _kinds(a)}
    return {origin or annotation}


def test_every_request_string_number_and_date_is_bounded(world) -> None:
    unbounded = []
    for _, _, model in json_routes(world["app"]):
        for owner, name, info in _fields(model):
            kinds = _kinds(info.annotation)
            if kinds & {str, int, float, date, datetime} and not kinds & {bool}:
                limits_found = _constraints(info)
                if str in kinds and "max_length" not in limits_found:
                    unbounded.append(f"{owner.__name__}.{name}: str without max_length")
                if kinds & {int, float, date, datetime} - {str} and not {"le", "ge"} <= set(limits_found) \
                        and "max_length" not in limits_found:
                    unbounded.append(f"{owner.__name__}.{name}: no ge/le")
    # A lab row's values are checked column by column by the importer (its lengths, dates and vocabularies).
    assert unbounded == [], unbounded


def test_every_string_over_its_length_is_a_422_naming_the_field(world) -> None:
    supervisor, admin = client_for(world, "supervisor"), client_for(world, "admin")
    checked = 0
    for method, path, model in json_routes(world["app"]):
        for name, info in model.model_fields.items():
            longest = _constraints(info).get("max_length")
            if longest is None or str not in _kinds(info.annotation):
                continue
            client = admin if path.startswith("/api/users") else supervisor  # the role is checked before the body
            response = client.request(method, path, json={name: "x" * (longest + 1)})
            body = assert_error_shape(response, 422)
            assert any(e["field"] == f"body.{name}" and f"at most {longest} character" in e["reason"]
                       for e in body["errors"]), (path, name, body)
            checked += 1
    assert checked >= 15


def test_dates_and_ids_outside_their_range_are_refused_not_500(world) -> None:
    client = client_for(world, "supervisor")
    case = world["cases"]["Ana"]
    for method, path, body in (
        ("PATCH", f"/api/cases/{case}", {"onset": "0001-01-01"}),
        ("PATCH", f"/api/cases/{case}", {"isolation": "9999-12-31"}),
        ("POST", f"/api/cases/{case}/visits", {"place": "X", "start": "0001-01-01T00:00:00+01:00",
                                                "end": "0001-01-01T05:00:00+01:00"}),
        ("POST", f"/api/cases/{case}/contacts", {"given_name": "A", "family_name": "B", "setting": "work",
                                                  "last_exposure": "2026-03-01", "identified_on": "0001-01-01"}),
        ("POST", "/api/tasks/1/result", {"result": "negative", "on": "9999-12-31"}),
        ("POST", "/api/persons/merge", {"keep": 2**63, "other": 1}),
    ):
        response = client.request(method, path, json=body)
        assert response.status_code == 422, (path, body, response.text)
    for path in (f"/cases/{2**64}", f"/persons/{2**64}"):
        assert client.get(path).status_code == 422
    assert client.post("/persons/merge", data={"keep": str(2**64), "other": "1"}).status_code == 422
    rows = client.post("/api/labs/rows", json={"rows": [{"lab_id": "L", "specimen_id": "S9", "collected_on": "0001-01-01",
                                                         "resulted_on": "2026-03-11", "result": "positive",
                                                         "test_type": "PCR", "given_name": "Old", "family_name": "Date",
                                                         "date_of_birth": "1990-01-01", "jurisdiction_code": "D1"}]})
    assert [(e["field"], e["reason"]) for e in assert_error_shape(rows, 422)["errors"]] == [
        ("collected_on", "is outside 1900-01-01 to 2100-12-31, the dates epitrace stores: check the year")]


def test_a_page_cannot_store_what_the_api_refuses(world) -> None:
    # Pages post forms without a schema: storage applies the same lengths (domain.limits).
    client = client_for(world, "supervisor")
    with write_session(world["engine"]) as session:
        task = session.scalars(select(Task.id).where(Task.status == "open")).first()
    refused = client.post(f"/tasks/{task}/result", data={"result": "x" * 10_000})
    assert refused.status_code == 400 and "result is 10,000 characters long; at most 200 are allowed" in refused.text
    symptoms = client.post(f"/cases/{world['cases']['Ana']}/interview", data={"other_symptoms": "y" * 20_000})
    assert symptoms.status_code == 400 and "at most 2,000 are allowed" in symptoms.text


def test_storage_refuses_out_of_range_dates_on_every_path(cli) -> None:
    # The CLI reaches storage without a schema: the same rule, one place (domain.limits via plausibility).
    from tests.conftest import write_labs

    write_labs(cli.cwd / "l.csv", lab_line("S1"))
    assert cli("import", "labs", "l.csv").exit_code == 0
    result = cli("cases", "update", "1", "--onset", "0001-01-01")
    assert result.exit_code == 1
    assert "onset 0001-01-01 is outside 1900-01-01 to 2100-12-31, the dates epitrace stores: check the year" in result.stderr


# The CSV reader's limits -----------------------------------------------------------------------------


def rejected(data: bytes) -> ImportRejected:
    with pytest.raises(ImportRejected) as caught:
        lab_file = read_lab_csv(data, source="labs.csv", today=date(2026, 3, 14))
        raise lab_file.rejection() or AssertionError("accepted")
    return caught.value


def test_a_100_kib_field_is_named_by_row_and_column_with_the_limit() -> None:
    line = lab_line("S1", given='"' + "a" * 100 * 1024 + '"')
    error = rejected((LAB_HEADER + "\n" + lab_line("S0") + "\n" + line + "\n").encode())
    assert error.message == ("labs.csv row 3, given_name: a value of 102,400 characters; at most 65,536 are read: a value "
                             "that long usually means a quote (\") that is never closed: close it, or remove the stray "
                             "quote")
    assert [(e.row, e.column) for e in error.errors] == [(3, "given_name")]


def test_a_200_kib_field_or_an_unclosed_quote_is_named_by_row_with_the_limit() -> None:
    for line in (lab_line("S1", given='"' + "a" * 200 * 1024 + '"'), 'LAB-A,"S1,' + "x" * 300_000):
        error = rejected((LAB_HEADER + "\n" + lab_line("S0") + "\n" + line + "\n").encode())
        assert error.message == ("labs.csv row 3: a value is longer than 131,072 characters; at most 65,536 are read: a "
                                 "value that long usually means a quote (\") that is never closed: close it, or remove "
                                 "the stray quote")
        assert [e.row for e in error.errors] == [3]


def test_10000_columns_are_refused_at_the_header() -> None:
    header = LAB_HEADER + "," + ",".join(f"c{i}" for i in range(10_000))
    error = rejected((header + "\n" + lab_line("S1") + "\n").encode())
    assert error.message == "labs.csv: the header has 10,014 columns; at most 100 are read: remove the extra columns"
    million = rejected((LAB_HEADER + "\n" + lab_line("S1") + "," * 1_000_000 + "\n").encode())
    assert million.message.startswith("labs.csv: row 2 has 1,000,014 columns; at most 100 are read")


def test_too_many_rows_are_refused_naming_the_limit(monkeypatch) -> None:
    monkeypatch.setattr(limits, "CSV_ROWS", 3)
    error = rejected((LAB_HEADER + "\n" + "\n".join(lab_line(f"S{i}") for i in range(5)) + "\n").encode())
    assert error.message == ("labs.csv has more than 3 rows (row 5 is one too many): split it into files of at most 3 "
                             "rows and import each")


def test_duplicate_and_unknown_header_names_are_refused_naming_them() -> None:
    duplicate = rejected((LAB_HEADER + ",lab_id\n" + lab_line("S1") + ",LAB-B\n").encode())
    assert [str(e) for e in duplicate.errors] == [
        "row 1, lab_id: column 'lab_id' appears 2 times in the header (positions 1, 15); keep one of them"]
    unknown = rejected((LAB_HEADER + ",Notes,=cmd\n" + lab_line("S1") + ",x,y\n").encode())
    expected = ", ".join(LAB_HEADER.split(","))
    assert [str(e) for e in unknown.errors] == [
        f"row 1, Notes: column 'Notes' is not one epitrace reads; expected only {expected}: remove the column or "
        "correct its name",
        f"row 1, =cmd: column '=cmd' is not one epitrace reads; expected only {expected}: remove the column or correct "
        "its name"]


def test_venue_records_have_the_same_header_rules() -> None:
    header = "given_name,family_name,phone,check_in,check_out"
    row = "Ana,Silva,+1555,2026-03-10T18:00:00Z,2026-03-10T19:00:00Z"
    for extra, reason in ((",phone", "column 'phone' appears 2 times"), (",email", "column 'email' is not one epitrace reads")):
        with pytest.raises(ImportRejected) as caught:
            parse_venue_records(f"{header}{extra}\n{row},x\n".encode(), source="venue.csv")
        assert caught.value.message.startswith("venue.csv: 1 problem(s) with the header's column names")
        assert reason in caught.value.errors[0].reason
    with pytest.raises(ImportRejected) as caught:
        parse_venue_records(f"{header}\n{row.replace('Ana', 'A' * 70_000)}\n".encode(), source="venue.csv")
    assert caught.value.message.startswith("venue.csv row 2, given_name: a value of 70,000 characters; at most 65,536")
