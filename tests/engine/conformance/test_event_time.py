"""Event-time formats and system columns."""

from __future__ import annotations

import pytest
from harness import Case, sink, src, with_

T0 = 1_700_000_000_000  # 2023-11-14T22:13:20Z


def _et_case(case_id: str, fmt: str | None, values: list, expected_ms: list[int]) -> Case:
    extra = {"event.time.format": fmt} if fmt else None
    name = case_id.replace("et_", "et_s_")
    return Case(
        id=case_id,
        rule="'<source>.event.time.format' = epoch_millis (default for integers), epoch_seconds, "
        "iso8601, or a strftime pattern; _event_time is selectable (epoch milliseconds)",
        sql=f"""
CREATE STREAM {name} AS SELECT id, _event_time AS et FROM s
{with_(src("s", "s.jsonl", extra=extra), sink(name))};
""",
        inputs={"s.jsonl": [{"id": i, "ts": v} for i, v in enumerate(values, 1)]},
        expected=[{"id": i, "et": ms} for i, ms in enumerate(expected_ms, 1)],
    )


CASES = [
    _et_case("et_epoch_millis_default", None, [T0 + 123, T0 + 5000], [T0 + 123, T0 + 5000]),
    _et_case("et_epoch_millis_explicit", "epoch_millis", [T0, T0 + 1], [T0, T0 + 1]),
    _et_case(
        "et_epoch_seconds", "epoch_seconds", [1_700_000_000, 1_700_000_060], [T0, T0 + 60_000]
    ),
    _et_case(
        "et_iso8601",
        "iso8601",
        ["2023-11-14T22:13:20Z", "2023-11-14T22:13:20.500Z", "2023-11-14T23:13:21+01:00"],
        [T0, T0 + 500, T0 + 1000],
    ),
    _et_case(
        "et_strftime",
        "%Y-%m-%d %H:%M:%S%z",
        ["2023-11-14 22:13:20+0000", "2023-11-14 22:13:25+0000"],
        [T0, T0 + 5000],
    ),
    Case(
        id="et_field_stays_column_and_star_has_no_system_columns",
        rule="The event-time field stays an ordinary column too; system columns are not part of *",
        sql=f"""
CREATE STREAM et_star AS SELECT * FROM s
{with_(src("s", "s.jsonl", extra={"event.time.format": "iso8601"}), sink("et_star"))};
""",
        inputs={"s.jsonl": [{"id": 1, "ts": "2023-11-14T22:13:20Z", "v": "x"}]},
        expected=[{"id": 1, "ts": "2023-11-14T22:13:20Z", "v": "x"}],
    ),
    Case(
        id="et_system_columns_selectable",
        rule="System columns, selectable but not part of *: _event_time, _window_start, ...",
        # a tumbling 10s window over one record at T0 + 3000: [T0, T0 + 10000), T0 % 10000 == 0
        sql=f"""
CREATE STREAM et_sys AS
SELECT COUNT(*) AS n, _window_start AS ws, _window_end AS we FROM s
WINDOW TUMBLING(10s)
{with_(src("s", "s.jsonl"), sink("et_sys"))};
""",
        inputs={"s.jsonl": [{"id": 1, "ts": T0 + 3000}]},
        expected=[{"n": 1, "ws": T0, "we": T0 + 10_000}],
    ),
    Case(
        id="et_where_on_event_time_column",
        rule="The event-time field stays an ordinary column too",
        sql=f"""
CREATE STREAM et_where AS SELECT id FROM s WHERE ts >= {T0 + 2000}
{with_(src("s", "s.jsonl"), sink("et_where"))};
""",
        inputs={
            "s.jsonl": [{"id": 1, "ts": T0}, {"id": 2, "ts": T0 + 2000}, {"id": 3, "ts": T0 + 4000}]
        },
        expected=[{"id": 2}, {"id": 3}],
    ),
    Case(
        id="et_without_field_is_record_timestamp",
        rule="Without an event-time field, event time is the record timestamp of the source (the time the record was read)",
        sql=f"""
CREATE STREAM et_nofield AS
SELECT id, _event_time = _timestamp AS same, _event_time > 1600000000000 AS recent FROM s
{with_(src("s", "s.jsonl", ts=None), sink("et_nofield"))};
""",
        inputs={"s.jsonl": [{"id": 1}, {"id": 2}]},
        expected=[{"id": 1, "same": True, "recent": True}, {"id": 2, "same": True, "recent": True}],
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_event_time(case: Case, conformance) -> None:
    """Event time and system columns conform to SEMANTICS.md."""
    conformance.check(case)
