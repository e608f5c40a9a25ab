"""Time windows: tumbling, sliding/hopping and session windows, watermarks and lateness."""

from __future__ import annotations

import pytest
from harness import Case, Unordered, sink, src, with_

T0 = 1_700_000_000_000  # 2023-11-14T22:13:20Z

TUMBLING = "A tumbling or sliding window is [start, end), aligned to the epoch: a record at time t belongs to every window with start <= t < end"
SLIDING = TUMBLING + ". A sliding window emits one row per window."
SESSION = "A session window is per group key; records whose event times are at most gap apart merge into one session; its _window_start is the first event time and _window_end the last event time plus gap"
WATERMARK = "Watermark = the largest event time read so far minus 'watermark.max_out_of_orderness' (default 0). A window closes when the watermark reaches its end. A record whose windows have all closed is late: it is dropped by default"


def _ev(*pairs: tuple, keys: tuple[str, ...] = ("ts", "v")) -> list[dict]:
    """Records from tuples of values named by `keys`."""
    return [dict(zip(keys, p, strict=True)) for p in pairs]


def _w(n: int, ws: int, we: int, **more) -> dict:
    return {**more, "n": n, "ws": ws, "we": we}


# SEMANTICS.md names no key for where dead letters go; this is the engine's (question to lead)
DEAD_LETTER = (
    "'late.data.strategy' = 'dead_letter', 'late.data.dead.letter.path' = '{dir}/late.jsonl'"
)

COLS = "COUNT(*) AS n, _window_start AS ws, _window_end AS we"

CASES = [
    Case(
        id="win_tumbling_half_open",
        rule=TUMBLING + "; windowed queries without EMIT behave as EMIT FINAL",
        # 1000, 5000, 9999 -> [0, 10000); 10000 -> [10000, 20000); 25000 -> [20000, 30000)
        sql=f"""
CREATE STREAM w_tumble AS SELECT {COLS}, SUM(v) AS s FROM s WINDOW TUMBLING(10s)
{with_(src("s", "s.jsonl"), sink("w_tumble"))};
""",
        inputs={"s.jsonl": _ev((1000, 1), (5000, 2), (9999, 3), (10000, 4), (25000, 5))},
        expected=[
            _w(3, 0, 10000, s=6),
            _w(1, 10000, 20000, s=4),
            _w(1, 20000, 30000, s=5),
        ],
    ),
    Case(
        id="win_tumbling_interval_minute",
        rule=TUMBLING + "; sizes as INTERVAL '5' MINUTE",
        sql=f"""
CREATE STREAM w_tminute AS SELECT {COLS} FROM s WINDOW TUMBLING(INTERVAL '1' MINUTE)
{with_(src("s", "s.jsonl"), sink("w_tminute"))};
""",
        inputs={"s.jsonl": _ev((59999, 1), (60000, 2), (119999, 3), (120000, 4))},
        expected=[_w(1, 0, 60000), _w(2, 60000, 120000), _w(1, 120000, 180000)],
    ),
    Case(
        id="win_tumbling_500ms",
        rule=TUMBLING + "; sizes as 500ms",
        sql=f"""
CREATE STREAM w_t500 AS SELECT {COLS} FROM s WINDOW TUMBLING(500ms)
{with_(src("s", "s.jsonl"), sink("w_t500"))};
""",
        inputs={"s.jsonl": _ev((0, 1), (499, 2), (500, 3), (1200, 4))},
        expected=[_w(2, 0, 500), _w(1, 500, 1000), _w(1, 1000, 1500)],
    ),
    Case(
        id="win_tumbling_epoch_aligned_hour_and_day",
        rule=TUMBLING + "; sizes as 1h, 1d",
        # T0 = 22:13:20 UTC: its hour starts at 22:00 (T0 - 800 s), its UTC day at T0 - 80000 s
        sql=f"""
CREATE STREAM w_thour AS SELECT {COLS} FROM s WINDOW TUMBLING(1h)
{with_(src("s", "s.jsonl"), sink("w_thour", "hour.jsonl"))};
CREATE STREAM w_tday AS SELECT {COLS} FROM s WINDOW TUMBLING(1d)
{with_(src("s", "s.jsonl"), sink("w_tday", "day.jsonl"))};
""",
        inputs={"s.jsonl": _ev((T0, 1), (T0 + 1000, 2))},
        outputs={
            "hour.jsonl": [_w(2, T0 - 800_000, T0 - 800_000 + 3_600_000)],
            "day.jsonl": [_w(2, T0 - 80_000_000, T0 - 80_000_000 + 86_400_000)],
        },
    ),
    Case(
        id="win_tumbling_group_by",
        rule=TUMBLING
        + "; one row per window and group when the window closes; rows caused by one advance of the watermark come in no particular order",
        # 12000 closes [0, 10000) (a: 2, b: 1); the end of input closes [10000, 20000)
        sql=f"""
CREATE STREAM w_tgroup AS SELECT k, {COLS} FROM s GROUP BY k WINDOW TUMBLING(10s)
{with_(src("s", "s.jsonl"), sink("w_tgroup"))};
""",
        inputs={
            "s.jsonl": _ev(
                ("a", 1000), ("b", 2000), ("a", 3000), ("b", 12000), ("a", 15000), keys=("k", "ts")
            )
        },
        expected=[
            Unordered(_w(2, 0, 10000, k="a"), _w(1, 0, 10000, k="b")),
            Unordered(_w(1, 10000, 20000, k="b"), _w(1, 10000, 20000, k="a")),
        ],
    ),
    Case(
        id="win_output_event_time_is_window_end",
        rule="Windowed output rows carry _event_time = the window end",
        sql=f"""
CREATE STREAM w_et AS SELECT COUNT(*) AS n, _event_time AS et FROM s WINDOW TUMBLING(10s)
{with_(src("s", "s.jsonl"), sink("w_et"))};
""",
        inputs={"s.jsonl": _ev((1000, 1), (2000, 2), (13000, 3))},
        expected=[{"n": 2, "et": 10000}, {"n": 1, "et": 20000}],
    ),
    Case(
        id="win_sliding_one_row_per_window",
        rule=SLIDING,
        # SLIDING(10s, 5s): 1003000 -> starts 995000, 1000000; 1007000 -> 1000000, 1005000;
        # 1012000 -> 1005000, 1010000. 1007000 closes [995000, 1005000), 1012000 closes
        # [1000000, 1010000), the end closes the other two.
        sql=f"""
CREATE STREAM w_slide AS SELECT {COLS}, SUM(v) AS s FROM s WINDOW SLIDING(10s, 5s)
{with_(src("s", "s.jsonl"), sink("w_slide"))};
""",
        inputs={"s.jsonl": _ev((1_003_000, 1), (1_007_000, 2), (1_012_000, 4))},
        expected=[
            _w(1, 995_000, 1_005_000, s=1),
            _w(2, 1_000_000, 1_010_000, s=3),
            Unordered(_w(2, 1_005_000, 1_015_000, s=6), _w(1, 1_010_000, 1_020_000, s=4)),
        ],
    ),
    Case(
        id="win_hopping_alias",
        rule=SLIDING + " (SLIDING also spelled HOPPING)",
        sql=f"""
CREATE STREAM w_hop AS SELECT {COLS}, SUM(v) AS s FROM s WINDOW HOPPING(10s, 5s)
{with_(src("s", "s.jsonl"), sink("w_hop"))};
""",
        inputs={"s.jsonl": _ev((1_003_000, 1), (1_007_000, 2), (1_012_000, 4))},
        expected=[
            _w(1, 995_000, 1_005_000, s=1),
            _w(2, 1_000_000, 1_010_000, s=3),
            Unordered(_w(2, 1_005_000, 1_015_000, s=6), _w(1, 1_010_000, 1_020_000, s=4)),
        ],
    ),
    Case(
        id="win_sliding_interval_syntax_group_by",
        rule=SLIDING + "; sizes as INTERVAL",
        # SLIDING(1 min, 30 s): 70000 -> [30000, 90000), [60000, 120000); per key
        sql=f"""
CREATE STREAM w_slide2 AS SELECT k, {COLS} FROM s GROUP BY k
WINDOW SLIDING(INTERVAL '1' MINUTE, INTERVAL '30' SECOND)
{with_(src("s", "s.jsonl"), sink("w_slide2"))};
""",
        inputs={"s.jsonl": _ev(("a", 70000), ("b", 75000), keys=("k", "ts"))},
        unordered=True,
        expected=[
            _w(1, 30000, 90000, k="a"),
            _w(1, 60000, 120000, k="a"),
            _w(1, 30000, 90000, k="b"),
            _w(1, 60000, 120000, k="b"),
        ],
    ),
    Case(
        id="win_session_per_key",
        rule=SESSION,
        # a: 1000, 4000 -> [1000, 9000); 12000 is 8000 after 4000 -> new session [12000, 17000)
        # b: 2000, 6000 -> [2000, 11000). 12000 moves the watermark past 9000 and 11000.
        sql=f"""
CREATE STREAM w_session AS SELECT k, {COLS} FROM s GROUP BY k WINDOW SESSION(5s)
{with_(src("s", "s.jsonl"), sink("w_session"))};
""",
        inputs={
            "s.jsonl": _ev(
                ("a", 1000), ("b", 2000), ("a", 4000), ("b", 6000), ("a", 12000), keys=("k", "ts")
            )
        },
        expected=[
            Unordered(_w(2, 1000, 9000, k="a"), _w(2, 2000, 11000, k="b")),
            _w(1, 12000, 17000, k="a"),
        ],
    ),
    Case(
        id="win_session_merges_at_exactly_gap",
        rule=SESSION + " (at most gap apart: exactly gap merges, gap + 1 ms does not)",
        # out-of-orderness 1s keeps the watermark (5000 after 6000) below the first session's end
        sql=f"""
CREATE STREAM w_sess_gap AS SELECT {COLS} FROM s WINDOW SESSION(5s)
{with_(src("s", "s.jsonl"), sink("w_sess_gap"), "'watermark.max_out_of_orderness' = '1s'")};
""",
        inputs={"s.jsonl": _ev((1000, 1), (6000, 2), (11001, 3))},
        expected=[Unordered(_w(2, 1000, 11000), _w(1, 11001, 16001))],
    ),
    Case(
        id="win_session_no_group_by",
        rule=SESSION,
        # 1000, 2500 -> [1000, 4500); 10000 closes it and opens [10000, 12000)
        sql=f"""
CREATE STREAM w_sess_all AS SELECT {COLS}, SUM(v) AS s FROM s WINDOW SESSION(2s)
{with_(src("s", "s.jsonl"), sink("w_sess_all"))};
""",
        inputs={"s.jsonl": _ev((1000, 1), (2500, 2), (10000, 4))},
        expected=[_w(2, 1000, 4500, s=3), _w(1, 10000, 12000, s=4)],
    ),
    Case(
        id="win_late_record_dropped",
        rule=WATERMARK,
        # 12000 closes [0, 10000) with only 1000 in it; 3000 arrives after: late, dropped
        sql=f"""
CREATE STREAM w_late AS SELECT {COLS}, SUM(v) AS s FROM s WINDOW TUMBLING(10s)
{with_(src("s", "s.jsonl"), sink("w_late"))};
""",
        inputs={"s.jsonl": _ev((1000, 1), (12000, 2), (3000, 3), (14000, 4))},
        expected=[_w(1, 0, 10000, s=1), _w(2, 10000, 20000, s=6)],
    ),
    Case(
        id="win_late_record_dropped_explicit_drop",
        rule=WATERMARK + " ('late.data.strategy' = drop)",
        sql=f"""
CREATE STREAM w_late_drop AS SELECT {COLS}, SUM(v) AS s FROM s WINDOW TUMBLING(10s)
{with_(src("s", "s.jsonl"), sink("w_late_drop"), "'late.data.strategy' = 'drop'")};
""",
        inputs={"s.jsonl": _ev((1000, 1), (12000, 2), (3000, 3), (14000, 4))},
        expected=[_w(1, 0, 10000, s=1), _w(2, 10000, 20000, s=6)],
    ),
    Case(
        id="win_late_record_dead_letter",
        rule=WATERMARK
        + " ('late.data.strategy' = dead_letter: the late record still misses its window)",
        sql=f"""
CREATE STREAM w_late_dl AS SELECT {COLS}, SUM(v) AS s FROM s WINDOW TUMBLING(10s)
{with_(src("s", "s.jsonl"), sink("w_late_dl"), DEAD_LETTER)};
""",
        inputs={"s.jsonl": _ev((1000, 1), (12000, 2), (3000, 3), (14000, 4))},
        expected=[_w(1, 0, 10000, s=1), _w(2, 10000, 20000, s=6)],
    ),
    Case(
        id="win_out_of_orderness_job_level",
        rule=WATERMARK + " (per job unprefixed)",
        # watermark after 12000 is 7000, so [0, 10000) is open when 3000 arrives; 14000 -> 9000
        sql=f"""
CREATE STREAM w_ooo AS SELECT {COLS}, SUM(v) AS s FROM s WINDOW TUMBLING(10s)
{with_(src("s", "s.jsonl"), sink("w_ooo"), "'watermark.max_out_of_orderness' = '5s'")};
""",
        inputs={"s.jsonl": _ev((1000, 1), (12000, 2), (3000, 3), (14000, 4))},
        expected=[Unordered(_w(2, 0, 10000, s=4), _w(2, 10000, 20000, s=6))],
    ),
    Case(
        id="win_out_of_orderness_per_source",
        rule=WATERMARK + " (per source as '<source>.watermark.max_out_of_orderness')",
        sql=f"""
CREATE STREAM w_ooo_src AS SELECT {COLS}, SUM(v) AS s FROM s WINDOW TUMBLING(10s)
{with_(src("s", "s.jsonl", extra={"watermark.max_out_of_orderness": "5000ms"}), sink("w_ooo_src"))};
""",
        inputs={"s.jsonl": _ev((1000, 1), (12000, 2), (3000, 3), (14000, 4))},
        expected=[Unordered(_w(2, 0, 10000, s=4), _w(2, 10000, 20000, s=6))],
    ),
    Case(
        id="win_out_of_orderness_too_small",
        rule=WATERMARK,
        # 1s: watermark after 12000 is 11000 >= 10000, so 3000 is late again
        sql=f"""
CREATE STREAM w_ooo_small AS SELECT {COLS}, SUM(v) AS s FROM s WINDOW TUMBLING(10s)
{with_(src("s", "s.jsonl"), sink("w_ooo_small"), "'watermark.max_out_of_orderness' = '1s'")};
""",
        inputs={"s.jsonl": _ev((1000, 1), (12000, 2), (3000, 3), (14000, 4))},
        expected=[_w(1, 0, 10000, s=1), _w(2, 10000, 20000, s=6)],
    ),
    Case(
        id="win_late_for_some_sliding_windows_only",
        rule=WATERMARK + "; a record is late only when ALL its windows have closed",
        # 12000 closes every window ending <= 12000; 8000 belongs to [0, 10000) (closed) and
        # [5000, 15000) (open): it is counted in the open one only
        sql=f"""
CREATE STREAM w_late_slide AS SELECT {COLS} FROM s WINDOW SLIDING(10s, 5s)
{with_(src("s", "s.jsonl"), sink("w_late_slide"))};
""",
        inputs={"s.jsonl": _ev((12000, 1), (8000, 2))},
        expected=[Unordered(_w(2, 5000, 15000), _w(1, 10000, 20000))],
    ),
    Case(
        id="win_where_does_not_stop_watermark",
        rule="Every record read advances [the watermark], whether or not WHERE keeps the record",
        # the filtered record at 12000 still moves the watermark past 10000: 3000 is late
        sql=f"""
CREATE STREAM w_where_wm AS SELECT {COLS}, SUM(v) AS s FROM s WHERE v > 0 WINDOW TUMBLING(10s)
{with_(src("s", "s.jsonl"), sink("w_where_wm"))};
""",
        inputs={"s.jsonl": _ev((1000, 1), (12000, -1), (3000, 2))},
        expected=[_w(1, 0, 10000, s=1)],
    ),
    Case(
        id="win_empty_windows_emit_nothing",
        rule="an empty window or group emits nothing",
        sql=f"""
CREATE STREAM w_gap AS SELECT {COLS} FROM s WINDOW TUMBLING(10s)
{with_(src("s", "s.jsonl"), sink("w_gap"))};
""",
        inputs={"s.jsonl": _ev((1000, 1), (35000, 2))},
        expected=[_w(1, 0, 10000), _w(1, 30000, 40000)],
    ),
    Case(
        id="win_size_spellings",
        rule=TUMBLING + "; sizes as 5m, 30s; an optional first argument names the time column",
        # 5m: 299999 -> [0, 300000), 300000 -> [300000, 600000); 30s with _event_time named
        sql=f"""
CREATE STREAM w_5m AS SELECT {COLS} FROM s WINDOW TUMBLING(5m)
{with_(src("s", "s.jsonl"), sink("w_5m", "m5.jsonl"))};
CREATE STREAM w_30s AS SELECT {COLS} FROM s WINDOW TUMBLING(_event_time, 30s)
{with_(src("s", "s.jsonl"), sink("w_30s", "s30.jsonl"))};
""",
        inputs={"s.jsonl": _ev((29999, 1), (30000, 2), (299999, 3), (300000, 4))},
        outputs={
            "m5.jsonl": [_w(3, 0, 300000), _w(1, 300000, 600000)],
            "s30.jsonl": [
                _w(1, 0, 30000),
                _w(1, 30000, 60000),
                _w(1, 270000, 300000),
                _w(1, 300000, 330000),
            ],
        },
    ),
    Case(
        id="win_group_by_two_keys_having_alias",
        rule=TUMBLING + "; GROUP BY and HAVING may use select aliases; HAVING filters emitted rows",
        # [0, 10000): (a, x) 2, (a, y) 1, (b, x) 1 -> HAVING n > 1 keeps (a, x) only
        sql=f"""
CREATE STREAM w_two_keys AS SELECT k, j, COUNT(*) AS n FROM s
GROUP BY k, j WINDOW TUMBLING(10s) HAVING n > 1
{with_(src("s", "s.jsonl"), sink("w_two_keys"))};
""",
        inputs={
            "s.jsonl": _ev(
                ("a", "x", 1000),
                ("a", "y", 2000),
                ("b", "x", 3000),
                ("a", "x", 4000),
                keys=("k", "j", "ts"),
            )
        },
        expected=[{"k": "a", "j": "x", "n": 2}],
    ),
    Case(
        id="win_out_of_orderness_minutes",
        rule=WATERMARK + " (a duration such as '5m')",
        # TUMBLING(1m), 5m allowed: the watermark after 200000 is -100000, so 30000 is on time
        sql=f"""
CREATE STREAM w_ooo_5m AS SELECT {COLS} FROM s WINDOW TUMBLING(1m)
{with_(src("s", "s.jsonl"), sink("w_ooo_5m"), "'watermark.max_out_of_orderness' = '5m'")};
""",
        inputs={"s.jsonl": _ev((10000, 1), (200000, 2), (30000, 3))},
        expected=[Unordered(_w(2, 0, 60000), _w(1, 180000, 240000))],
    ),
    Case(
        id="win_out_of_orderness_zero_explicit",
        rule=WATERMARK + " ('0ms')",
        sql=f"""
CREATE STREAM w_ooo_0 AS SELECT {COLS}, SUM(v) AS s FROM s WINDOW TUMBLING(10s)
{with_(src("s", "s.jsonl"), sink("w_ooo_0"), "'watermark.max_out_of_orderness' = '0ms'")};
""",
        inputs={"s.jsonl": _ev((1000, 1), (12000, 2), (3000, 3), (14000, 4))},
        expected=[_w(1, 0, 10000, s=1), _w(2, 10000, 20000, s=6)],
    ),
    Case(
        id="win_session_emit_changes",
        rule=SESSION
        + "; window EMIT CHANGES: after each input row, the current row of each window and group it fell into",
        # a@1000 -> [1000, 6000); a@3000 -> [1000, 8000) n 2; b@4000 -> its own session
        sql=f"""
CREATE STREAM w_sess_ch AS SELECT k, {COLS} FROM s GROUP BY k WINDOW SESSION(5s) EMIT CHANGES
{with_(src("s", "s.jsonl"), sink("w_sess_ch"))};
""",
        inputs={"s.jsonl": _ev(("a", 1000), ("a", 3000), ("b", 4000), keys=("k", "ts"))},
        expected=[_w(1, 1000, 6000, k="a"), _w(2, 1000, 8000, k="a"), _w(1, 4000, 9000, k="b")],
    ),
    Case(
        id="win_session_bridging_record_merges_sessions",
        rule=SESSION,
        # gap 10s, 30s allowed lateness: [1000, 11000) and [20000, 30000) are both open when
        # 10000 arrives; it is within 10s of 1000's session (9000) and of 20000 (10000): one session
        sql=f"""
CREATE STREAM w_sess_bridge AS SELECT {COLS} FROM s WINDOW SESSION(10s)
{with_(src("s", "s.jsonl"), sink("w_sess_bridge"), "'watermark.max_out_of_orderness' = '30s'")};
""",
        inputs={"s.jsonl": _ev((1000, 1), (20000, 2), (10000, 3))},
        expected=[_w(3, 1000, 30000)],
    ),
    Case(
        id="win_sliding_advance_not_dividing_size",
        rule=SLIDING,
        # SLIDING(10s, 3s): 1007000 is in the windows starting at 999000, 1002000, 1005000
        sql=f"""
CREATE STREAM w_slide3 AS SELECT {COLS} FROM s WINDOW SLIDING(10s, 3s)
{with_(src("s", "s.jsonl"), sink("w_slide3"))};
""",
        inputs={"s.jsonl": _ev((1_007_000, 1))},
        expected=[
            Unordered(
                _w(1, 999_000, 1_009_000), _w(1, 1_002_000, 1_012_000), _w(1, 1_005_000, 1_015_000)
            )
        ],
    ),
    Case(
        id="win_tumbling_epoch_aligned_7s",
        rule=TUMBLING,
        # floor(T0 / 7000) * 7000 = T0 - 6000
        sql=f"""
CREATE STREAM w_t7 AS SELECT {COLS} FROM s WINDOW TUMBLING(7s)
{with_(src("s", "s.jsonl"), sink("w_t7"))};
""",
        inputs={"s.jsonl": _ev((T0, 1))},
        expected=[_w(1, T0 - 6000, T0 + 1000)],
    ),
    Case(
        id="win_emit_changes_late_record_emits_nothing",
        rule=WATERMARK
        + "; window EMIT CHANGES emits after each input row that reaches the aggregate",
        sql=f"""
CREATE STREAM w_late_ch AS SELECT {COLS} FROM s WINDOW TUMBLING(10s) EMIT CHANGES
{with_(src("s", "s.jsonl"), sink("w_late_ch"))};
""",
        inputs={"s.jsonl": _ev((1000, 1), (12000, 2), (3000, 3), (13000, 4))},
        expected=[_w(1, 0, 10000), _w(1, 10000, 20000), _w(2, 10000, 20000)],
    ),
    Case(
        id="win_decimal_avg_and_sum",
        rule="AVG of a DECIMAL gives a DECIMAL with scale max(input scale + 4, 6); SUM is exact",
        sql=f"""
CREATE STREAM w_dec AS SELECT AVG(d) AS a, SUM(d) AS s FROM s WINDOW TUMBLING(10s)
{with_(src("s", "s.jsonl"), sink("w_dec"))};
""",
        inputs={"s.jsonl": _ev((1000, "1.00"), (2000, "2.00"), (3000, "2.00"), keys=("ts", "d"))},
        expected=[{"a": "1.666667", "s": "5.00"}],
    ),
    Case(
        id="win_session_late_record_dropped",
        rule=SESSION + "; " + WATERMARK,
        # b@10000 closes a's [1000, 3000); a@2000's own session would end at 4000 <= 10000: late
        sql=f"""
CREATE STREAM w_sess_late AS SELECT k, {COLS} FROM s GROUP BY k WINDOW SESSION(2s)
{with_(src("s", "s.jsonl"), sink("w_sess_late"))};
""",
        inputs={"s.jsonl": _ev(("a", 1000), ("b", 10000), ("a", 2000), keys=("k", "ts"))},
        expected=[_w(1, 1000, 3000, k="a"), _w(1, 10000, 12000, k="b")],
    ),
    Case(
        id="win_session_emit_changes_merge",
        rule=SESSION
        + "; window EMIT CHANGES: after each input row, the current row of each window and group it fell into",
        # gap 10s: [1000, 11000), then [20000, 30000); 10000 bridges both into [1000, 30000)
        sql=f"""
CREATE STREAM w_sess_chm AS SELECT {COLS} FROM s WINDOW SESSION(INTERVAL '10' SECOND) EMIT CHANGES
{with_(src("s", "s.jsonl"), sink("w_sess_chm"), "'watermark.max_out_of_orderness' = '1d'")};
""",
        inputs={"s.jsonl": _ev((1000, 1), (20000, 2), (10000, 3))},
        expected=[_w(1, 1000, 11000), _w(1, 20000, 30000), _w(3, 1000, 30000)],
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_windows(case: Case, conformance) -> None:
    """Windows, watermarks and lateness conform to SEMANTICS.md."""
    conformance.check(case)
