"""Event-time formats: epoch ms / s, ISO 8601 with and without offsets, strftime patterns."""

from __future__ import annotations

from decimal import Decimal

import pytest

from velostream.formats.event_time import (
    EventTimeError,
    EventTimeExtractor,
    make_parser,
    normalize_format,
)

# 2023-11-14T22:13:20Z is epoch second 1_700_000_000 (the well-known "1.7 billion" instant).
T0 = 1_700_000_000_000


def test_epoch_millis_default_for_integers() -> None:
    assert make_parser(None)(T0) == T0
    assert make_parser("epoch_millis")(T0 + 5) == T0 + 5


def test_epoch_seconds_int_float_decimal() -> None:
    p = make_parser("epoch_seconds")
    assert p(1_700_000_000) == T0
    assert p(1_700_000_000.25) == T0 + 250
    assert p(Decimal("1700000000.125")) == T0 + 125
    assert p("1700000001") == T0 + 1000
    assert make_parser("epoch")(1) == 1000


def test_iso8601_forms_are_utc() -> None:
    p = make_parser("iso8601")
    assert p("2023-11-14T22:13:20Z") == T0
    assert p("2023-11-14T22:13:20.5Z") == T0 + 500
    assert p("2023-11-14T22:13:20") == T0  # no offset: UTC
    # 23:13:20 at +01:00 is 22:13:20 UTC; 17:13:20 at -05:00 is 22:13:20 UTC.
    assert p("2023-11-14T23:13:20+01:00") == T0
    assert p("2023-11-14T17:13:20-05:00") == T0
    assert p("2023-11-14 22:13:20.123") == T0 + 123
    assert p("2023-11-14T22:13:20z") == T0
    assert p("2023-11-14T23:43:20+0130") == T0  # offset without a colon
    assert p("2023-11-14") == T0 - (22 * 3600 + 13 * 60 + 20) * 1000  # midnight UTC


def test_iso_is_default_for_strings() -> None:
    assert make_parser(None)("2023-11-14T22:13:21Z") == T0 + 1000


def test_strftime_pattern() -> None:
    p = make_parser("%d/%m/%Y %H:%M:%S")
    assert p("14/11/2023 22:13:20") == T0
    with pytest.raises(EventTimeError):
        p("2023-11-14 22:13:20")


def test_unknown_format_name_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown event time format"):
        normalize_format("epoch_minutes")


def test_extractor_missing_null_and_bad_values() -> None:
    ex = EventTimeExtractor("ts")
    assert ex({"ts": 5}) == 5
    assert ex({"TS": 7}) == 7  # field names are case-insensitive
    with pytest.raises(EventTimeError, match="missing"):
        ex({"x": 1})
    with pytest.raises(EventTimeError, match="null"):
        ex({"ts": None})
    with pytest.raises(EventTimeError):
        ex({"ts": "yesterday"})
    with pytest.raises(EventTimeError):
        ex({"ts": True})
