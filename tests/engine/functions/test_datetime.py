"""Date/time functions: hand-checked values and NULL behaviour."""

from __future__ import annotations

import time
from datetime import datetime

import pytest

from velostream.errors import SqlError

TS = "2024-03-15T13:45:30.250"  # a Friday; 2024 is a leap year


@pytest.mark.parametrize(
    "part, expected",
    [
        ("YEAR", 2024),
        ("month", 3),
        ("DAY", 15),
        ("HOUR", 13),
        ("MINUTE", 45),
        ("SECOND", 30),
        ("MILLISECOND", 250),
        ("MICROSECOND", 250_000),
        ("NANOSECOND", 250_000_000),
        ("QUARTER", 1),
        ("DOW", 5),  # 0 = Sunday
        ("DAYOFWEEK", 5),
        ("DOY", 75),  # 31 (Jan) + 29 (Feb) + 15
        ("DAYOFYEAR", 75),
        ("WEEK", 11),  # 2024-01-01 is a Monday, so ISO week 1 starts then: (75 - 1) // 7 + 1
    ],
)
def test_extract_parts(call, part, expected):
    assert call("EXTRACT", part, TS) == expected


def test_extract_takes_epoch_ms_and_datetimes(call):
    assert call("EXTRACT", "EPOCH", 1_700_000_000_123) == 1_700_000_000
    assert call("EXTRACT", "EPOCH", datetime(1970, 1, 2)) == 86_400
    assert call("EXTRACT", "YEAR", 0) == 1970
    assert call("EXTRACT", "DOW", "2024-01-07T00:00:00") == 0  # a Sunday
    assert call("EXTRACT", "HOUR", datetime(2024, 1, 1, 23)) == 23
    assert call("EXTRACT", "YEAR", None) is None
    with pytest.raises(SqlError):
        call("EXTRACT", "FORTNIGHT", 0)


def test_date_format(call):
    assert call("DATE_FORMAT", 0, "%Y-%m-%d %H:%M:%S") == "1970-01-01 00:00:00"
    assert call("DATE_FORMAT", TS, "%d/%m/%Y") == "15/03/2024"
    assert call("DATE_FORMAT", None, "%Y") is None


@pytest.mark.parametrize(
    "unit, start, end, expected",
    [
        ("days", "2024-01-01T23:00:00", "2024-01-02T01:00:00", 1),  # a date boundary crossed
        ("hours", "2024-01-01T23:00:00", "2024-01-02T01:00:00", 2),
        ("minutes", 0, 90_000, 1),
        ("seconds", 0, -1_500, -1),  # truncated toward zero
        ("ms", 0, 1_234, 1_234),
        ("weeks", "2024-01-01", "2024-01-15", 2),
        ("weeks", "2024-01-01", "2024-01-14", 1),
        ("months", "2024-01-31", "2024-02-01", 1),
        ("quarters", "2024-03-31", "2024-04-01", 1),
        ("years", "2023-12-31", "2024-01-01", 1),
        ("DAY", "2024-01-05", "2024-01-01", -4),
    ],
)
def test_datediff(call, unit, start, end, expected):
    assert call("DATEDIFF", unit, start, end) == expected


def test_datediff_errors_and_nulls(call):
    assert call("DATEDIFF", "days", None, 0) is None
    with pytest.raises(SqlError):
        call("DATEDIFF", "fortnights", 0, 1)


def test_tumble_start_end(call):
    assert call("TUMBLE_START", 1_500, 1_000) == 1_000
    assert call("TUMBLE_END", 1_500, 1_000) == 2_000
    assert call("TUMBLE_START", 2_000, 1_000) == 2_000  # [start, end)
    assert call("TUMBLE_END", 999, 1_000) == 1_000
    assert call("TUMBLE_START", -1, 1_000) == -1_000  # aligned to the epoch
    assert call("TUMBLE_START", "2024-01-01T00:00:01.500", 1_000) == datetime(2024, 1, 1, 0, 0, 1)
    assert call("TUMBLE_START", None, 1_000) is None
    with pytest.raises(SqlError):
        call("TUMBLE_START")
    with pytest.raises(SqlError):
        call("TUMBLE_END", 5, 0)


def test_unix_time_conversions(call):
    assert call("FROM_UNIXTIME", 1_700_000_000) == datetime(2023, 11, 14, 22, 13, 20)
    assert call("FROM_UNIXTIME", 1.5) == datetime(1970, 1, 1, 0, 0, 1, 500_000)
    assert call("FROM_UNIXTIME", None) is None
    assert call("UNIX_TIMESTAMP", "2023-11-14T22:13:20Z") == 1_700_000_000
    assert call("UNIX_TIMESTAMP", 1_999) == 1
    assert call("UNIX_TIMESTAMP", datetime(1970, 1, 1, 0, 1)) == 60


def test_timestamp_function(call):
    assert call("TIMESTAMP", "2024-01-01T00:00:00") == datetime(2024, 1, 1)
    assert call("TIMESTAMP", 0) == datetime(1970, 1, 1)
    assert call("TIMESTAMP", None) is None


def test_now_is_the_wall_clock_in_epoch_ms(call):
    before = time.time_ns() // 1_000_000
    now = call("NOW")
    current = call("CURRENT_TIMESTAMP")
    unix = call("UNIX_TIMESTAMP")
    after = time.time_ns() // 1_000_000
    assert type(now) is int and before <= now <= current <= after
    assert before // 1000 <= unix <= after // 1000
