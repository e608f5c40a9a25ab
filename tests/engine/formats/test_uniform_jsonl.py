"""The uniform JSON-lines reader (CSV split at the commas, every field checked) must give
exactly what the record path gives (orjson per line, decimal strings as Decimals), or decline."""

from __future__ import annotations

from decimal import Decimal

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from velostream.formats.json import convert_batch_decimals
from velostream.formats.json_frame import jsonl_frame, uniform_jsonl_frame


def records_of(raw: bytes) -> list[dict]:
    """The record path's values: orjson per line, then the decimal strings as Decimals."""
    recs = [orjson.loads(line) for line in raw.split(b"\n") if line]
    convert_batch_decimals(recs, raw)
    return recs


def assert_same(frame, raw: bytes, columns: list[str] | None = None) -> None:
    expected = records_of(raw)
    if columns is not None:
        expected = [{k: v for k, v in r.items() if k in columns} for r in expected]
    got = frame.to_arrow().to_pylist()
    assert len(got) == len(expected)
    for g, e in zip(got, expected, strict=True):
        assert sorted(g) == sorted(e)  # (a later line may list its keys in another order)
        for k in e:
            assert g[k] == e[k] and type(g[k]) is type(e[k]), (k, g[k], e[k])
            if isinstance(e[k], Decimal):
                assert str(g[k]) == str(e[k])  # the same scale


def test_compact_lines_by_hand() -> None:
    raw = b'{"k":"a","n":1,"x":0.5,"ok":true,"p":"1.50"}\n{"k":"b","n":-20,"x":2e3,"ok":false,"p":"-0.25"}\n'
    frame = uniform_jsonl_frame(raw)
    assert frame is not None
    assert frame.rows() == [
        ("a", 1, 0.5, True, Decimal("1.50")),
        ("b", -20, 2000.0, False, Decimal("-0.25")),
    ]
    assert_same(frame, raw)


def test_json_dumps_layout_and_nulls() -> None:
    raw = b'{"k": "a", "n": 1}\n{"k": null, "n": null}\n{"k": "c", "n": 3}'  # no final newline
    frame = uniform_jsonl_frame(raw)
    assert frame is not None
    assert frame.rows() == [("a", 1), (None, None), ("c", 3)]


def test_a_first_line_with_nulls_takes_the_layout_of_a_later_line() -> None:
    raw = b'{"k":null,"n":1,"p":null}\n{"k":"a","n":null,"p":null}\n{"k":"b","n":3,"p":"2.50"}\n'
    frame = uniform_jsonl_frame(raw)
    assert frame is not None
    assert frame.rows() == [(None, 1, None), ("a", None, None), ("b", 3, Decimal("2.50"))]
    assert_same(frame, raw)
    # the later line is a template only: the lines before it are checked against it all the same
    assert uniform_jsonl_frame(b'{"k":null,"n":"1"}\n{"k":"a","n":2}\n') is None
    assert uniform_jsonl_frame(b'{"n":1,"k":null}\n{"k":"a","n":2}\n') is None
    assert uniform_jsonl_frame(b'{"k":null,"n":1,"x":2}\n{"k":"a","n":2}\n') is None
    # no line without a null among the first few: no layout
    assert uniform_jsonl_frame(b'{"k":null,"n":1}\n' * 8 + b'{"k":"a","n":2}\n') is None


def test_only_the_asked_columns_but_every_field_checked() -> None:
    raw = b'{"k":"a","n":1,"p":"1.5"}\n{"k":"b","n":2,"p":"2.5"}\n'
    frame = uniform_jsonl_frame(raw, ["K", "n"])  # case-insensitive, as fields are read
    assert frame is not None and frame.columns == ["k", "n"]
    assert_same(frame, raw, ["k", "n"])
    # a field nobody reads must still be valid JSON: the line is malformed otherwise
    assert uniform_jsonl_frame(b'{"k":"a","n":1,"p":07}\n', ["k"]) is None
    assert uniform_jsonl_frame(b'{"k":"a","n":1,"p":"x\x01"}\n', ["k"]) is None


@pytest.mark.parametrize(
    "raw",
    [
        b'{"a":1}\n{"a":007}\n',  # leading zeros: not JSON
        b'{"a":1}\n{"a":+5}\n',  # a plus sign: not JSON
        b'{"a":1}\n{"a":1.5}\n',  # a float where the first line had an integer
        b'{"a":1}\n{"a":"1"}\n',  # a string where the first line had an integer
        b'{"a":"x"}\n{"a":1}\n',  # an integer where the first line had a string
        b'{"a":"x"}\n{"a":"x"y"}\n',  # a quote inside a string: not JSON
        b'{"a":"x"}\n{"a":"\tx"}\n',  # a control character inside a string: not JSON
        b'{"a":"x"}\n{"a":"x\\"y"}\n',  # an escape: orjson unescapes, this reader does not
        b'{"a":"x"}\n{"a":"x\\ny"}\n',  # (an escape that leaves the quotes as they are)
        b'{"a":"x","b":1}\n{"a":"\\u00e9","b":1}\n',
        b'{"a":1,"b":2}\n{"a":1}\n',  # a missing field
        b'{"a":1,"b":2}\n{"b":1,"a":2}\n',  # another key order
        b'{"a":1}\n{"a":1} \n',  # trailing space
        b'{"a":1}\n{"a":1}x\n',  # trailing garbage
        b'{"a":1}\n\n{"a":2}\n',  # a blank line
        b'{"a":"x"}\n{"a":"x,y"}\n',  # a comma inside a string (another CSV field)
        b'{"a":1}\n{"a":99999999999999999999}\n',  # beyond 64 bits
        b'{"a":1.5}\n{"a":1e400}\n',  # beyond a double
        b'{"a":1.5}\n{"a":.5}\n',  # not JSON
        b'{"a":true}\n{"a":True}\n',  # not JSON
        b'{"a":1,"a":2}\n',  # a duplicate key
        b'{"a":{"b":1}}\n',  # nested
        b'{"a":null}\n',  # no type to check against
        b'{"a":1}\r\n{"a":2}\r\n',  # CRLF
        b'{"a":"1.5"}\n{"a":"1.50"}\n',  # decimals of two scales
        b'{"a":"1.5"}\n{"a":"x.y"}\n',  # a decimal among strings
        b'{"a":"1.00"}\n{"a":"-0.00"}\n',  # a negative zero: Decimal keeps the sign, Polars not
        # the sign checks run only when the chunk holds that sign: each input holds it once
        b'{"a":1}\n{"a":-05}\n',  # a leading zero after a minus: not JSON
        b'{"a":1,"s":"x"}\n{"a":-00,"s":"y"}\n',
        b'{"a":1,"b":2}\n{"a":2,"b":+7}\n',  # a plus sign in the last field
        # a decimal string only on a later line, among text: the record path mixes the two
        b'{"a":"x"}\n{"a":"1.5"}\n',
        b'{"a":"x"}\n{"a":"-1.5"}\n',
        b'{"n":1,"a":"zz"}\n{"n":2,"a":"0.5"}\n',
        # control characters other than the newline (each would be kept inside the string)
        b'{"a":"x"}\n{"a":"x\ry"}\n',
        b'{"a":"x"}\n{"a":"x\x00y"}\n',
        b'{"a":"x"}\n{"a":"\x1f"}\n',
        b'{"a":"x","b":1}\n{"a":"x\x0b","b":1}\n',
    ],
)
def test_declines(raw: bytes) -> None:
    assert uniform_jsonl_frame(raw) is None


def test_signs_and_zeros_that_are_json() -> None:
    raw = b'{"a":-7,"b":0,"s":"-"}\n{"a":-0,"b":10,"s":"+"}\n{"a":-10,"b":-1,"s":"x"}\n'
    frame = uniform_jsonl_frame(raw)  # (`-0` is JSON: the integer 0)
    assert frame is not None
    assert frame.rows() == [(-7, 0, "-"), (0, 10, "+"), (-10, -1, "x")]
    assert_same(frame, raw)


def test_decimal_strings_on_later_lines_and_text_that_only_looks_numeric() -> None:
    # every value a decimal of one scale, the first line's the largest: still a DECIMAL column
    raw = b'{"p":"9.50","s":"b"}\n{"p":"-0.25","s":"1x"}\n{"p":"10.00","s":""}\n'
    frame = uniform_jsonl_frame(raw)
    assert frame is not None
    assert frame.rows() == [
        (Decimal("9.50"), "b"),
        (Decimal("-0.25"), "1x"),
        (Decimal("10.00"), ""),
    ]
    assert_same(frame, raw)
    # the same decimal column left out of the frame: no decimal check for it, the rest exact
    frame = uniform_jsonl_frame(raw, ["s"])
    assert frame is not None and frame.rows() == [("b",), ("1x",), ("",)]


def test_delete_and_non_ascii_characters_are_kept_as_orjson_reads_them() -> None:
    raw = '{"a":"x\x7f","é":"ü€"}\n{"a":"","é":"😀"}\n'.encode()
    frame = uniform_jsonl_frame(raw)
    assert frame is not None
    assert_same(frame, raw)


def test_negative_decimals_that_are_not_zero_are_kept() -> None:
    raw = b'{"a":"1.00"}\n{"a":"-0.50"}\n{"a":"-10.00"}\n'
    frame = jsonl_frame(raw)
    assert frame is not None
    assert frame.rows() == [(Decimal("1.00"),), (Decimal("-0.50"),), (Decimal("-10.00"),)]
    assert jsonl_frame(b'{"a":"1.00"}\n{"a":"-0.00"}\n') is None  # (Polars' JSON reader too)


def test_declined_uniform_chunk_still_read_exactly_or_declined() -> None:
    raw = b'{"a":"x"}\n{"a":"x,y"}\n'  # Polars' JSON reader takes it
    frame = jsonl_frame(raw)
    assert frame is not None
    assert_same(frame, raw)


_TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters='"\\,'),
    max_size=6,
)
_DEC2 = st.decimals(min_value=-1000, max_value=1000, places=2, allow_nan=False).map(str)
_VALUES = {
    "s": st.one_of(_TEXT, st.none()),
    "i": st.one_of(st.integers(-(2**63), 2**63 - 1), st.none()),
    "f": st.one_of(
        st.floats(allow_nan=False, allow_infinity=False).filter(lambda x: not x.is_integer()),
        st.none(),
    ),
    "b": st.one_of(st.booleans(), st.none()),
    "d": st.one_of(_DEC2, st.none()),
}


@settings(max_examples=150, deadline=None)
@given(
    kinds=st.lists(st.sampled_from(sorted(_VALUES)), min_size=1, max_size=4),
    data=st.data(),
    spaced=st.booleans(),
    null_first=st.booleans(),
)
def test_random_uniform_chunks_match_the_record_path(kinds, data, spaced, null_first) -> None:
    keys = [f"{k}{i}" for i, k in enumerate(kinds)]
    first = {
        k: data.draw(_VALUES[kind].filter(lambda v: v is not None))
        for k, kind in zip(keys, kinds, strict=True)
    }
    rows = [dict.fromkeys(keys), first] if null_first else [first]  # (a later line's layout)
    rows += data.draw(
        st.lists(
            st.fixed_dictionaries({k: _VALUES[kind] for k, kind in zip(keys, kinds, strict=True)}),
            max_size=20,
        )
    )
    sep = (", ", ": ") if spaced else (",", ":")
    lines = [
        "{" + sep[0].join(f'"{k}"{sep[1]}{orjson.dumps(r[k]).decode()}' for k in keys) + "}"
        for r in rows
    ]
    raw = "\n".join(lines).encode() + b"\n"
    frame = uniform_jsonl_frame(raw)
    if frame is not None:
        assert_same(frame, raw)
    # the whole-chunk reader: exact whenever it reads the chunk at all
    frame = jsonl_frame(raw)
    if frame is not None:
        assert_same(frame, raw)


_BASE = (
    b'{"key":"k81","ts":0,"value":0,"price":"100.00","ok":true,"x":0.5,"note":"first line"}\n'
    b'{"key":"k14","ts":1,"value":-1,"price":"179.19","ok":false,"x":-2e3,"note":"free text"}\n'
    b'{"key":"","ts":20,"value":9,"price":"-0.25","ok":null,"x":null,"note":"a little more text"}\n'
    b'{"key":"k1","ts":300,"value":10,"price":"0.00","ok":true,"x":1.25,"note":"and yet more"}\n'
)
# (the bytes that matter to the checks; a quote and a minus sign several times, being the most
# often needed)
_BYTES = [bytes([c]) for c in b'"""\\,:{}00--+.e 9nulltrux\t\r\n\x00\x7f'] + [b"\xc3", b"\xff", b""]


@settings(max_examples=300, deadline=None)
@given(
    edits=st.lists(
        # (positions drawn evenly: integers() would favour the first line, which only declines)
        st.tuples(st.sampled_from(range(len(_BASE))), st.integers(0, 1), st.sampled_from(_BYTES)),
        min_size=1,
        max_size=3,
    ),
    columns=st.sampled_from([None, ["key", "ts", "value"], ["KEY", "note"]]),
)
def test_edited_bytes_are_read_exactly_or_declined(edits, columns) -> None:
    """Replace or insert a few bytes anywhere: a chunk with a line that is not a JSON object
    must decline (the record path reports it), any other must read exactly or decline."""
    raw = bytearray(_BASE)
    for pos, insert, byte in edits:
        pos = min(pos, len(raw) - 1)
        raw[pos : pos + (1 - insert)] = byte
    _edit_verdict(bytes(raw), columns)


def _edit_verdict(raw: bytes, columns: list[str] | None = None) -> None:
    """Declined, or the record path's values when every line is a JSON object."""
    frame = uniform_jsonl_frame(raw, columns)
    if frame is None:
        return
    try:
        valid = all(orjson.loads(line).__class__ is dict for line in raw.split(b"\n") if line)
    except orjson.JSONDecodeError:
        valid = False
    assert valid, raw
    assert_same(frame, raw, None if columns is None else [c.lower() for c in columns])


def test_every_single_byte_edit_of_a_line_is_read_exactly_or_declined() -> None:
    """Each byte of a line replaced by, or preceded by, each byte that matters to the checks."""
    first = b'{"k":"a b","i":7,"p":"1.50","b":true,"x":0.5}\n'
    line = b'{"k":"c d","i":-10,"p":"2.25","b":false,"x":-2e3}'
    for pos in range(len(line) + 1):
        for byte in (
            b'"',
            b"\\",
            b",",
            b":",
            b"}",
            b".",
            b"0",
            b"-",
            b"+",
            b" ",
            b"\t",
            b"\r",
            b"\n",
            b"\x00",
            b"\xff",
        ):
            for edited in (line[:pos] + byte + line[pos + 1 :], line[:pos] + byte + line[pos:]):
                _edit_verdict(first + edited + b"\n" + first)
