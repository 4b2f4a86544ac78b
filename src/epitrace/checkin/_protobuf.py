"""Just enough protobuf wire format for the small check-in messages: varints and length-delimited fields.

Adding ``protobuf`` and generated code for five tiny proto3 messages would cost more than these
hundred lines. Writing follows proto3 canonical encoding: fields in number order, default values
(0, empty) omitted, which is what the CWA apps emit and what the conformance vectors expect.
"""

from __future__ import annotations

from collections.abc import Iterable

WIRE_VARINT = 0
WIRE_FIXED64 = 1
WIRE_LEN = 2
WIRE_FIXED32 = 5

MAX_VARINT = (1 << 64) - 1


class ProtobufError(ValueError):
    """Bytes that are not a well-formed protobuf message (turned into an InputError by callers)."""


def encode_varint(value: int) -> bytes:
    """The base-128 varint of an unsigned 64-bit integer."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_VARINT:
        raise ValueError(f"a varint must be an integer in 0..2**64-1, got {value!r}")
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def decode_varint(data: bytes, pos: int) -> tuple[int, int]:
    """The varint starting at ``pos`` and the position after it."""
    result = shift = 0
    while True:
        if pos >= len(data):
            raise ProtobufError("truncated varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            break
        shift += 7
        if shift >= 70:
            raise ProtobufError("varint longer than 10 bytes")
    if result > MAX_VARINT:
        raise ProtobufError("varint larger than 64 bits")
    return result, pos


Field = tuple[int, "int | bytes | None"]


def encode_message(fields: Iterable[Field]) -> bytes:
    """Serialise ``(number, value)`` pairs: ints as varints, bytes as length-delimited; 0, b"" and None are omitted."""
    out = bytearray()
    for number, value in sorted(fields, key=lambda item: item[0]):
        if value is None:
            continue
        if isinstance(value, bytes):
            if not value:
                continue
            out += encode_varint(number << 3 | WIRE_LEN) + encode_varint(len(value)) + value
        else:
            if value == 0:
                continue
            out += encode_varint(number << 3 | WIRE_VARINT) + encode_varint(value)
    return bytes(out)


def decode_message(data: bytes) -> dict[int, list[int | bytes]]:
    """Every field of a message by number, in the order read; unknown wire types 1 and 5 are skipped."""
    fields: dict[int, list[int | bytes]] = {}
    pos = 0
    while pos < len(data):
        key, pos = decode_varint(data, pos)
        number, wire = key >> 3, key & 7
        if number == 0:
            raise ProtobufError("field number 0")
        if wire == WIRE_VARINT:
            value, pos = decode_varint(data, pos)
            fields.setdefault(number, []).append(value)
        elif wire == WIRE_LEN:
            length, pos = decode_varint(data, pos)
            if pos + length > len(data):
                raise ProtobufError(f"field {number} claims {length} bytes but only {len(data) - pos} remain")
            fields.setdefault(number, []).append(bytes(data[pos : pos + length]))
            pos += length
        elif wire in (WIRE_FIXED64, WIRE_FIXED32):
            pos += 8 if wire == WIRE_FIXED64 else 4
            if pos > len(data):
                raise ProtobufError(f"truncated fixed-width field {number}")
        else:
            raise ProtobufError(f"unsupported wire type {wire} in field {number}")
    return fields


def get_int(fields: dict[int, list[int | bytes]], number: int, *, name: str) -> int:
    """The last varint value of a field (proto3: last one wins), 0 when absent."""
    values = fields.get(number)
    if not values:
        return 0
    value = values[-1]
    if not isinstance(value, int):
        raise ProtobufError(f"{name} (field {number}) must be a varint")
    return value


def get_bytes(fields: dict[int, list[int | bytes]], number: int, *, name: str) -> bytes:
    """The last length-delimited value of a field, b"" when absent."""
    values = fields.get(number)
    if not values:
        return b""
    value = values[-1]
    if not isinstance(value, bytes):
        raise ProtobufError(f"{name} (field {number}) must be length-delimited")
    return value


def get_str(fields: dict[int, list[int | bytes]], number: int, *, name: str) -> str:
    """A UTF-8 string field, "" when absent."""
    raw = get_bytes(fields, number, name=name)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ProtobufError(f"{name} (field {number}) is not UTF-8") from exc
