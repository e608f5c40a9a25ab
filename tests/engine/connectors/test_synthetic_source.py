"""synthetic: a seeded generator from a schema; deterministic, bounded by count, paced by rate."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest
from connector_helpers import drain, drain_batches, user_columns

from velostream.connectors.registry import create_source
from velostream.connectors.synthetic import SchemaError, parse_schema

SCHEMA = (
    "symbol STRING ENUM(AAPL,MSFT,GOOG), price DECIMAL(10,2) RANGE(100,200), "
    "quantity BIGINT RANGE(1,500), side STRING ENUM('BUY','SELL'), n BIGINT SEQUENCE, "
    "account STRING, ok BOOLEAN, w DOUBLE RANGE(5, 6) WALK, ts TIMESTAMP"
)


def syn(**props: str):
    return create_source("t", {"type": "synthetic", **props})


def test_same_seed_same_rows_other_seed_other_rows() -> None:
    a = [user_columns(r) for r in drain(syn(schema=SCHEMA, count="50", seed="7"))]
    b = [
        user_columns(r)
        for r in drain(syn(schema=SCHEMA, count="50", seed="7", **{"batch.size": "3"}))
    ]
    c = [user_columns(r) for r in drain(syn(schema=SCHEMA, count="50", seed="8"))]
    assert a == b  # batching does not change the sequence
    assert a != c


def test_values_follow_the_schema() -> None:
    rows = drain(syn(schema=SCHEMA, count="200", keys="3", rate="100"))
    assert len(rows) == 200
    for i, r in enumerate(rows):
        assert r["symbol"] in {"AAPL", "MSFT", "GOOG"} and r["side"] in {"BUY", "SELL"}
        assert isinstance(r["price"], Decimal) and r["price"].as_tuple().exponent == -2
        assert Decimal("100") <= r["price"] <= Decimal("200")
        assert 1 <= r["quantity"] <= 500 and type(r["quantity"]) is int
        assert r["n"] == i + 1
        assert r["account"] in {"account_0", "account_1", "account_2"}
        assert type(r["ok"]) is bool and 5 <= r["w"] <= 6
        # bounded default start 1700000000000; rate 100/s -> 10 ms per record
        assert r["ts"] == r["_event_time"] == 1_700_000_000_000 + 10 * i
        assert r["_offset"] == i
    assert {r["account"] for r in rows} == {"account_0", "account_1", "account_2"}


def test_trades_preset_and_start_time() -> None:
    rows = drain(syn(preset="trades", count="20", **{"start.time": "2023-11-14T22:13:20Z"}))
    assert list(user_columns(rows[0])) == ["symbol", "price", "quantity", "ts"]
    assert [r["ts"] for r in rows[:3]] == [1_700_000_000_000, 1_700_000_000_001, 1_700_000_000_002]
    assert all(isinstance(r["price"], Decimal) for r in rows)


def test_default_preset_without_schema() -> None:
    assert len(drain(syn(count="3"))) == 3


def test_event_time_field_other_than_timestamp() -> None:
    rows = drain(
        syn(schema="k BIGINT SEQUENCE, ts TIMESTAMP", count="3", **{"event.time.field": "k"})
    )
    assert [r["_event_time"] for r in rows] == [1, 2, 3]


class FakeClock:
    """A clock that moves only when the source sleeps, or when the test says so."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds
        await asyncio.sleep(0)


def paced(rate: str, pulls: int, gap_s: float = 0.0) -> list[list[dict]]:
    """The first `pulls` batches of an unbounded paced source; the consumer takes `gap_s`
    (simulated) seconds between pulls."""
    src = syn(schema="v BIGINT SEQUENCE, ts TIMESTAMP", rate=rate)
    assert src.bounded is False
    clock = FakeClock()
    src.clock, src.sleep = clock, clock.sleep

    async def run() -> list[list[dict]]:
        out = []
        batches = src.batches()
        async for b in batches:
            out.append(b)
            if len(out) == pulls:
                break
            clock.now += gap_s
        await batches.aclose()  # type: ignore[attr-defined]
        return out

    return asyncio.run(run())


def test_unbounded_low_rate_yields_batches_of_one() -> None:
    got = paced("20", 4)
    assert [[r["v"] for r in b] for b in got] == [[1], [2], [3], [4]]
    # Simulated event time advances 1000/20 = 50 ms per record.
    times = [b[0]["_event_time"] for b in got]
    assert [t - times[0] for t in times] == [0, 50, 100, 150]


def test_a_slow_consumer_gets_everything_that_is_due() -> None:
    # At 20/s a record is due every 50 ms; a pull 0.2 s later finds four due records.
    got = paced("20", 3, gap_s=0.2)
    assert [[r["v"] for r in b] for b in got] == [[1], [2, 3, 4, 5], [6, 7, 8, 9]]


def test_real_clock_pacing_runs() -> None:
    # The real clock and sleep: only that it yields records in order (no timing assertions).
    src = syn(schema="v BIGINT SEQUENCE, ts TIMESTAMP", rate="200")

    async def run() -> list[int]:
        seen: list[int] = []
        batches = src.batches()
        async for b in batches:
            seen.extend(r["v"] for r in b)
            if len(seen) >= 3:
                break
        await batches.aclose()  # type: ignore[attr-defined]
        return seen

    seen = asyncio.run(run())
    assert seen == list(range(1, len(seen) + 1)) and len(seen) >= 3


def test_bounded_with_rate_is_not_paced_and_batches_fill() -> None:
    batches = drain_batches(syn(count="10", rate="1", **{"batch.size": "4"}))
    assert [len(b) for b in batches] == [4, 4, 2]


@pytest.mark.parametrize(
    "bad",
    [
        "x",
        "x STRNG",
        "x BIGINT ENUM(a)",
        "x STRING WALK",
        "x BIGINT RANGE(5, 1)",
        "x BIGINT, X STRING",
        "x DECIMAL(10,2) RANGE(1)",
        "x BIGINT (",
        "x BIGINT BOGUS",
    ],
)
def test_schema_errors(bad: str) -> None:
    with pytest.raises(SchemaError):
        parse_schema(bad)
