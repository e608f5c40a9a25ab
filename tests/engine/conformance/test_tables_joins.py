"""Tables (upserts), stream-table joins as of event time, stream-stream interval joins."""

from __future__ import annotations

import pytest
from harness import Case, Unordered, sink, src, with_

TABLE = "CREATE TABLE t AS SELECT k PRIMARY KEY, ... keeps the latest row per key (an upsert); GROUP BY keys a table too; when it has a sink, the sink receives every change"
AS_OF = "A stream record joins a table as of that record's event time, inclusive: it sees every table update with an event time up to and including its own; at equal event times, table sources come before stream sources"
ST_JOIN = "Stream-table JOIN / LEFT JOIN: each stream record is looked up in the table; only the stream side produces output; LEFT keeps unmatched stream rows with the table's columns NULL"
INTERVAL = "Stream-stream interval join: a match is emitted as soon as both sides have arrived; sources are merged by event time, at equal times in the order the statement names them"

RATES = [
    {"cur": "USD", "rate": "1.10", "ts": 1000},
    {"cur": "EUR", "rate": "1.00", "ts": 1000},
    {"cur": "USD", "rate": "1.20", "ts": 5000},
    {"cur": "EUR", "rate": "2.00", "ts": 9000},
]
ORDERS = [
    {"id": "o1", "cur": "USD", "amt": 10, "ts": 2000},
    {"id": "o2", "cur": "USD", "amt": 10, "ts": 5000},
    {"id": "o3", "cur": "GBP", "amt": 10, "ts": 6000},
    {"id": "o4", "cur": "EUR", "amt": 5, "ts": 7000},
]


def _rates_table(name: str) -> str:
    """A sinkless CREATE TABLE over rates.jsonl."""
    return f"""
CREATE TABLE {name} AS SELECT cur PRIMARY KEY, rate FROM rates
{with_(src("rates", "rates.jsonl"))};
"""


CASES = [
    Case(
        id="table_primary_key_sink_gets_every_change",
        rule=TABLE,
        sql=f"""
CREATE TABLE tj_latest AS SELECT cur PRIMARY KEY, rate FROM rates
{with_(src("rates", "rates.jsonl"), sink("tj_latest"))};
""",
        inputs={"rates.jsonl": RATES},
        expected=[
            {"cur": "USD", "rate": "1.10"},
            {"cur": "EUR", "rate": "1.00"},
            {"cur": "USD", "rate": "1.20"},
            {"cur": "EUR", "rate": "2.00"},
        ],
    ),
    Case(
        id="table_group_by_sink_gets_every_change",
        rule=TABLE,
        sql=f"""
CREATE TABLE tj_counts AS SELECT cur, COUNT(*) AS n FROM rates GROUP BY cur
{with_(src("rates", "rates.jsonl"), sink("tj_counts"))};
""",
        inputs={"rates.jsonl": RATES},
        expected=[
            {"cur": "USD", "n": 1},
            {"cur": "EUR", "n": 1},
            {"cur": "USD", "n": 2},
            {"cur": "EUR", "n": 2},
        ],
    ),
    Case(
        id="join_stream_table_as_of_event_time",
        rule=AS_OF + "; " + ST_JOIN,
        # o1@2000 sees USD 1.10; o2@5000 sees the USD update at 5000 (table first): 1.20;
        # o3 has no GBP rate (inner join drops it); o4@7000 sees EUR 1.00, not the 2.00 at 9000
        sql=_rates_table("tj_rates")
        + f"""
CREATE STREAM tj_conv AS SELECT o.id, o.cur, r.rate, o.amt * r.rate AS conv
FROM orders o JOIN tj_rates r ON o.cur = r.cur
{with_(src("orders", "orders.jsonl"), sink("tj_conv"))};
""",
        inputs={"rates.jsonl": RATES, "orders.jsonl": ORDERS},
        expected=[
            {"id": "o1", "cur": "USD", "rate": "1.10", "conv": "11.00"},
            {"id": "o2", "cur": "USD", "rate": "1.20", "conv": "12.00"},
            {"id": "o4", "cur": "EUR", "rate": "1.00", "conv": "5.00"},
        ],
    ),
    Case(
        id="join_stream_table_left",
        rule=AS_OF + "; " + ST_JOIN,
        sql=_rates_table("tj_rates_l")
        + f"""
CREATE STREAM tj_conv_l AS SELECT o.id, r.rate, o.amt * r.rate AS conv
FROM orders o LEFT JOIN tj_rates_l r ON o.cur = r.cur
{with_(src("orders", "orders.jsonl"), sink("tj_conv_l"))};
""",
        inputs={"rates.jsonl": RATES, "orders.jsonl": ORDERS},
        expected=[
            {"id": "o1", "rate": "1.10", "conv": "11.00"},
            {"id": "o2", "rate": "1.20", "conv": "12.00"},
            {"id": "o3", "rate": None, "conv": None},
            {"id": "o4", "rate": "1.00", "conv": "5.00"},
        ],
    ),
    Case(
        id="join_stream_table_before_first_update",
        rule=AS_OF,
        # the stream record at 500 comes before any rate: LEFT gives NULL, the one at 1000 matches
        sql=_rates_table("tj_rates_e")
        + f"""
CREATE STREAM tj_early AS SELECT o.id, r.rate FROM orders o LEFT JOIN tj_rates_e r ON o.cur = r.cur
{with_(src("orders", "orders.jsonl"), sink("tj_early"))};
""",
        inputs={
            "rates.jsonl": RATES,
            "orders.jsonl": [
                {"id": "e1", "cur": "USD", "ts": 500},
                {"id": "e2", "cur": "USD", "ts": 1000},
            ],
        },
        expected=[{"id": "e1", "rate": None}, {"id": "e2", "rate": "1.10"}],
    ),
    Case(
        id="join_stream_table_grouped_table",
        rule=TABLE + "; " + AS_OF,
        # the table counts rates per currency; o2@5000 sees USD counted twice (1000 and 5000)
        sql=f"""
CREATE TABLE tj_ncount AS SELECT cur, COUNT(*) AS n FROM rates GROUP BY cur
{with_(src("rates", "rates.jsonl"))};
CREATE STREAM tj_withn AS SELECT o.id, c.n FROM orders o JOIN tj_ncount c ON o.cur = c.cur
{with_(src("orders", "orders.jsonl"), sink("tj_withn"))};
""",
        inputs={"rates.jsonl": RATES, "orders.jsonl": ORDERS},
        expected=[{"id": "o1", "n": 1}, {"id": "o2", "n": 2}, {"id": "o4", "n": 1}],
    ),
    Case(
        id="join_interval_between",
        rule=INTERVAL
        + "; b._event_time BETWEEN a._event_time - .. AND a._event_time + .. (inclusive)",
        # merged: o1@1000 o2@2000 o3@3000 s3@3000 s1@5000 s1@11000 s2@20000
        # o3-s3 (at 3000), o1-s1@5000, o1-s1@11000 (= 1000 + 10 s, inclusive); s2 is too late
        sql=f"""
CREATE STREAM tj_between AS SELECT o.id AS oid, o.ts AS ot, s.ts AS st
FROM orders o JOIN ships s ON o.id = s.id
  AND s._event_time BETWEEN o._event_time AND o._event_time + INTERVAL '10' SECOND
{with_(src("orders", "orders.jsonl"), src("ships", "ships.jsonl"), sink("tj_between"))};
""",
        inputs={
            "orders.jsonl": [{"id": 1, "ts": 1000}, {"id": 2, "ts": 2000}, {"id": 3, "ts": 3000}],
            "ships.jsonl": [
                {"id": 3, "ts": 3000},
                {"id": 1, "ts": 5000},
                {"id": 1, "ts": 11000},
                {"id": 2, "ts": 20000},
            ],
        },
        expected=[
            {"oid": 3, "ot": 3000, "st": 3000},
            {"oid": 1, "ot": 1000, "st": 5000},
            {"oid": 1, "ot": 1000, "st": 11000},
        ],
    ),
    Case(
        id="join_interval_between_negative_lower_bound",
        rule=INTERVAL,
        # s within [o - 2s, o + 1s]: o1@10000 matches s@8000 and s@11000, not s@7999 or s@11001
        sql=f"""
CREATE STREAM tj_between2 AS SELECT o.id AS oid, s.ts AS st
FROM orders o JOIN ships s ON o.id = s.id
  AND s._event_time BETWEEN o._event_time - INTERVAL '2' SECOND AND o._event_time + INTERVAL '1' SECOND
{with_(src("orders", "orders.jsonl"), src("ships", "ships.jsonl"), sink("tj_between2"))};
""",
        inputs={
            "orders.jsonl": [{"id": 1, "ts": 10000}],
            "ships.jsonl": [
                {"id": 1, "ts": 7999},
                {"id": 1, "ts": 8000},
                {"id": 1, "ts": 11000},
                {"id": 1, "ts": 11001},
            ],
        },
        # s@8000 is stored before o1 arrives (emitted at 10000); s@11000 after
        expected=[{"oid": 1, "st": 8000}, {"oid": 1, "st": 11000}],
    ),
    Case(
        id="join_interval_within",
        rule=INTERVAL + "; ON a.k = b.k WITHIN INTERVAL '5' SECOND (symmetric)",
        # merged: s1@4000 s1@6000 o1@10000 o2@10000 o3@10000 s3@14000 s2@16000
        # o1 matches s1@6000 (4 s before) not s1@4000 (6 s); o3-s3 (4 s after); o2-s2 is 6 s off
        sql=f"""
CREATE STREAM tj_within AS SELECT o.id AS oid, o.ts AS ot, s.ts AS st
FROM orders o JOIN ships s ON o.id = s.id WITHIN INTERVAL '5' SECOND
{with_(src("orders", "orders.jsonl"), src("ships", "ships.jsonl"), sink("tj_within"))};
""",
        inputs={
            "orders.jsonl": [
                {"id": 1, "ts": 10000},
                {"id": 2, "ts": 10000},
                {"id": 3, "ts": 10000},
            ],
            "ships.jsonl": [
                {"id": 1, "ts": 4000},
                {"id": 1, "ts": 6000},
                {"id": 3, "ts": 14000},
                {"id": 2, "ts": 16000},
            ],
        },
        expected=[{"oid": 1, "ot": 10000, "st": 6000}, {"oid": 3, "ot": 10000, "st": 14000}],
    ),
    Case(
        id="join_interval_equal_times_follow_statement_order",
        rule=INTERVAL + " (at equal event times: sources in the order the statement names them)",
        # all at 5000; ships is named first, so s2, s1 are read before o1, o2 and each match is
        # emitted when its order arrives: 1 then 2 (orders first would give 2 then 1)
        sql=f"""
CREATE STREAM tj_order AS SELECT o.id AS oid
FROM ships s JOIN orders o ON s.id = o.id WITHIN INTERVAL '1' SECOND
{with_(src("ships", "ships.jsonl"), src("orders", "orders.jsonl"), sink("tj_order"))};
""",
        inputs={
            "ships.jsonl": [{"id": 2, "ts": 5000}, {"id": 1, "ts": 5000}],
            "orders.jsonl": [{"id": 1, "ts": 5000}, {"id": 2, "ts": 5000}],
        },
        expected=[{"oid": 1}, {"oid": 2}],
    ),
    Case(
        id="join_interval_output_event_time_is_later_side",
        rule="(interval join) the output's event time is the later of the two; tumbling windows over it",
        # matches' later times: 3000, 5000, 11000 -> [0, 10000): 2, [10000, 20000): 1
        # (the orders' times 3000, 1000, 1000 would put all three in [0, 10000))
        sql=f"""
CREATE STREAM tj_jwin AS SELECT COUNT(*) AS n, _window_start AS ws
FROM orders o JOIN ships s ON o.id = s.id
  AND s._event_time BETWEEN o._event_time AND o._event_time + INTERVAL '10' SECOND
WINDOW TUMBLING(10s)
{with_(src("orders", "orders.jsonl"), src("ships", "ships.jsonl"), sink("tj_jwin"))};
""",
        inputs={
            "orders.jsonl": [{"id": 1, "ts": 1000}, {"id": 3, "ts": 3000}],
            "ships.jsonl": [{"id": 3, "ts": 3000}, {"id": 1, "ts": 5000}, {"id": 1, "ts": 11000}],
        },
        unordered=True,
        expected=[{"n": 2, "ws": 0}, {"n": 1, "ws": 10000}],
    ),
    Case(
        id="join_stream_table_left_null_key",
        rule=ST_JOIN + " (NULL = anything is not true: no match)",
        sql=_rates_table("tj_rates_n")
        + f"""
CREATE STREAM tj_nullkey AS SELECT o.id, r.rate FROM orders o LEFT JOIN tj_rates_n r ON o.cur = r.cur
{with_(src("orders", "orders.jsonl"), sink("tj_nullkey"))};
""",
        inputs={
            "rates.jsonl": RATES,
            "orders.jsonl": [
                {"id": "n1", "cur": None, "ts": 2000},
                {"id": "n2", "ts": 3000},
                {"id": "n3", "cur": "EUR", "ts": 4000},
            ],
        },
        expected=[
            {"id": "n1", "rate": None},
            {"id": "n2", "rate": None},
            {"id": "n3", "rate": "1.00"},
        ],
    ),
    Case(
        id="join_interval_one_record_matches_several",
        rule=INTERVAL + "; several rows caused by one input row come in no particular order",
        # the shipment at 3000 matches both orders of id 1 (1000 and 2000) at once
        sql=f"""
CREATE STREAM tj_multi AS SELECT o.ts AS ot, s.ts AS st
FROM orders o JOIN ships s ON o.id = s.id WITHIN 5s
{with_(src("orders", "orders.jsonl"), src("ships", "ships.jsonl"), sink("tj_multi"))};
""",
        inputs={
            "orders.jsonl": [{"id": 1, "ts": 1000}, {"id": 1, "ts": 2000}, {"id": 2, "ts": 2500}],
            "ships.jsonl": [{"id": 1, "ts": 3000}],
        },
        expected=[Unordered({"ot": 1000, "st": 3000}, {"ot": 2000, "st": 3000})],
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_tables_joins(case: Case, conformance) -> None:
    """Tables and joins conform to SEMANTICS.md."""
    conformance.check(case)
