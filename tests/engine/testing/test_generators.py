"""Each generator's output, checked statistically on a seeded sample: frequencies against
chi-square bounds, means and spreads against a few standard errors (worked out from the
distribution's parameters, not from the generator)."""

from __future__ import annotations

import itertools
import math
import re
import statistics
import uuid
from collections import Counter
from decimal import Decimal

import pytest
import yaml

from velostream.testing.generator import TimeSimulation, generate_rows
from velostream.testing.schema import SchemaError, parse_schema_dict

N = 20_000
# chi-square critical values at p = 0.001 by degrees of freedom (tables)
CHI2_999 = {1: 10.83, 2: 13.82, 3: 16.27, 4: 18.47, 5: 20.52, 9: 27.88}


def schema(fields: str):
    return parse_schema_dict({"name": "t", "fields": yaml.safe_load(fields)})


def rows(fields: str, n: int = N, seed: int | str = 1, sim: TimeSimulation | None = None, **kw):
    return generate_rows(schema(fields), n, seed, sim, **kw)


def chi2(observed: dict, probs: dict, n: int) -> float:
    return sum((observed.get(k, 0) - n * p) ** 2 / (n * p) for k, p in probs.items())


def test_weighted_enum_frequencies() -> None:
    got = Counter(r["s"] for r in rows(
        "[{name: s, constraints: {enum_values: {values: [A, B, C], weights: [5, 3, 2]}}}]"
    ))  # fmt: skip
    assert set(got) == {"A", "B", "C"}
    assert chi2(got, {"A": 0.5, "B": 0.3, "C": 0.2}, N) < CHI2_999[2]


def test_weighted_enum_is_not_uniform() -> None:
    # the same test fails against the wrong (uniform) expectation: the check has power
    got = Counter(r["s"] for r in rows(
        "[{name: s, constraints: {enum_values: {values: [A, B, C], weights: [5, 3, 2]}}}]"
    ))  # fmt: skip
    assert chi2(got, {"A": 1 / 3, "B": 1 / 3, "C": 1 / 3}, N) > CHI2_999[2]


def test_uniform_integer_range() -> None:
    vals = [
        r["x"] for r in rows("[{name: x, type: integer, constraints: {range: {min: 1, max: 6}}}]")
    ]
    assert min(vals) == 1 and max(vals) == 6 and all(type(v) is int for v in vals)
    assert chi2(Counter(vals), {k: 1 / 6 for k in range(1, 7)}, N) < CHI2_999[5]


def test_uniform_float_mean_and_variance() -> None:
    vals = [
        r["x"] for r in rows("[{name: x, type: float, constraints: {range: {min: 10, max: 20}}}]")
    ]
    assert all(10 <= v <= 20 for v in vals)
    se = math.sqrt(100 / 12 / N)  # sd of U(10, 20) is 10 / sqrt(12)
    assert abs(statistics.fmean(vals) - 15) < 4 * se
    assert abs(statistics.pvariance(vals) - 100 / 12) < 0.05 * 100 / 12


def test_normal_distribution() -> None:
    vals = [r["x"] for r in rows(
        "[{name: x, type: float, constraints: {distribution: {normal: {mean: 50, std_dev: 4}}}}]"
    )]  # fmt: skip
    assert abs(statistics.fmean(vals) - 50) < 4 * 4 / math.sqrt(N)
    assert abs(statistics.pstdev(vals) - 4) < 0.1
    within = sum(46 <= v <= 54 for v in vals) / N  # P(|Z| <= 1) = 0.6827
    assert abs(within - 0.6827) < 4 * math.sqrt(0.6827 * 0.3173 / N)


def test_log_normal_distribution() -> None:
    vals = [r["x"] for r in rows(
        "[{name: x, type: float, constraints: {distribution: {log_normal: {mean: 2, std_dev: 0.5}}}}]"
    )]  # fmt: skip
    logs = [math.log(v) for v in vals]
    assert abs(statistics.fmean(logs) - 2) < 4 * 0.5 / math.sqrt(N)
    assert abs(statistics.pstdev(logs) - 0.5) < 0.02
    # the median of a log-normal is e^mean
    assert abs(statistics.median(vals) - math.e**2) < 0.1


def test_log_normal_integer_clamped_to_range() -> None:
    vals = [r["v"] for r in rows(
        "[{name: v, type: integer, constraints: {range: {min: 100, max: 1000}, "
        "distribution: {log_normal: {mean: 6, std_dev: 1.5}}}}]"
    )]  # fmt: skip
    assert min(vals) == 100 and max(vals) == 1000 and all(type(v) is int for v in vals)


def test_zipf_distribution() -> None:
    s, n = 1.2, 5
    vals = [r["x"] for r in rows(
        f"[{{name: x, type: integer, constraints: {{range: {{min: 1, max: {n}}}, "
        f"distribution: {{zipf: {{exponent: {s}}}}}}}}}]"
    )]  # fmt: skip
    h = sum(k**-s for k in range(1, n + 1))
    probs = {k: k**-s / h for k in range(1, n + 1)}
    assert chi2(Counter(vals), probs, N) < CHI2_999[4]


def test_zipf_over_enum_values_puts_the_first_first() -> None:
    got = Counter(r["s"] for r in rows(
        "[{name: s, constraints: {enum_values: {values: [hot, warm, cold]}, "
        "distribution: {zipf: {exponent: 2}}}}]"
    ))  # fmt: skip
    h = 1 + 1 / 4 + 1 / 9
    assert chi2(got, {"hot": 1 / h, "warm": 0.25 / h, "cold": (1 / 9) / h}, N) < CHI2_999[2]


def test_random_walk_returns_and_paths_per_group() -> None:
    data = rows(
        "[{name: sym, constraints: {enum_values: {values: [A, B]}}},"
        " {name: p, type: float, constraints: {range: {min: 1, max: 1.0e12},"
        "  distribution: {random_walk: {drift: 0.001, volatility: 0.01, group_by: sym,"
        "  start: 1000}}}}]"
    )
    for sym in ("A", "B"):
        path = [r["p"] for r in data if r["sym"] == sym]
        assert path[0] == 1000.0  # each group's walk starts at `start`
        rets = [b / a - 1 for a, b in itertools.pairwise(path)]
        n = len(rets)
        assert abs(statistics.fmean(rets) - 0.001) < 4 * 0.01 / math.sqrt(n)
        assert abs(statistics.pstdev(rets) - 0.01) < 0.001


def test_random_walk_stays_in_range_unless_allowed() -> None:
    inside = [r["p"] for r in rows(
        "[{name: p, type: {decimal: {precision: 2}}, constraints: {range: {min: 99, max: 101},"
        " distribution: {random_walk: {volatility: 0.05}}}}]", n=2000
    )]  # fmt: skip
    assert all(Decimal(99) <= v <= Decimal(101) for v in inside)
    assert all(v.as_tuple().exponent == -2 for v in inside)
    free = [r["p"] for r in rows(
        "[{name: p, type: float, constraints: {range: {min: 99, max: 101},"
        " distribution: {random_walk: {volatility: 0.05, allow_below_min: true,"
        " allow_above_max: true}}}}]", n=2000
    )]  # fmt: skip
    assert min(free) < 99 or max(free) > 101


def test_sequence() -> None:
    data = rows("[{name: n, type: integer, constraints: {sequence: {start: 10, step: 3}}}]", n=5)
    assert [r["n"] for r in data] == [10, 13, 16, 19, 22]


def test_timestamps_at_a_rate_with_jitter() -> None:
    sim = TimeSimulation(start="2024-01-01T00:00:00Z", rate=4, jitter_ms=100)
    data = rows("[{name: ts, type: timestamp}]", n=4000, sim=sim)
    start = 1_704_067_200_000
    for i, r in enumerate(data):
        arrival = start + i * 250  # 4 per second
        assert r["_timestamp"] == arrival
        assert r["ts"] == r["_event_time"] and abs(r["ts"] - arrival) <= 100
    offsets = [r["ts"] - r["_timestamp"] for r in data]
    # jitter is uniform on -100..100: mean 0, sd ~ 201/sqrt(12)
    assert abs(statistics.fmean(offsets)) < 4 * 58 / math.sqrt(len(offsets))
    assert chi2(Counter(o // 50 for o in offsets), {-2: 50 / 201, -1: 50 / 201, 0: 50 / 201,
                                                      1: 50 / 201, 2: 1 / 201}, len(offsets)) < CHI2_999[4]  # fmt: skip


def test_timestamps_spread_between_start_and_end() -> None:
    sim = TimeSimulation(start="-1h", end="now")
    data = rows("[{name: ts, type: timestamp}]", n=61, sim=sim, now_ms=3_600_000)
    assert [r["ts"] for r in data] == [60_000 * i for i in range(61)]


def test_out_of_order_events_on_purpose() -> None:
    sim = TimeSimulation(rate=10, out_of_order=0.1, max_delay_ms=2000)
    data = rows("[{name: ts, type: timestamp}]", sim=sim)
    delays = [r["_timestamp"] - r["ts"] for r in data]
    moved = [d for d in delays if d > 0]
    frac = len(moved) / N
    assert abs(frac - 0.1) < 4 * math.sqrt(0.1 * 0.9 / N)
    assert all(1 <= d <= 2000 for d in moved) and all(d == 0 for d in delays if d <= 0)
    # they really are out of order: an event time below the largest seen before it
    top, inversions = -1, 0
    for r in data:
        inversions += r["ts"] < top
        top = max(top, r["ts"])
    assert inversions > 0.05 * N


def test_late_events_on_purpose() -> None:
    sim = TimeSimulation(rate=10, late=0.02, late_delay_ms=60_000)
    data = rows("[{name: ts, type: timestamp}]", sim=sim)
    late = [r for r in data if r["_timestamp"] - r["ts"] == 60_000]
    assert abs(len(late) / N - 0.02) < 4 * math.sqrt(0.02 * 0.98 / N)
    assert all(r["_timestamp"] == r["ts"] for r in data if r not in late)


def test_derived_fields_use_the_engine_expressions() -> None:
    data = rows(
        "[{name: price, type: {decimal: {precision: 2}}, constraints: {range: {min: 1, max: 9}}},"
        " {name: qty, type: integer, constraints: {range: {min: 1, max: 5}}},"
        " {name: notional, type: {decimal: {precision: 2}},"
        "  constraints: {derived: {expression: 'price * qty'}}},"
        " {name: label, constraints: {derived: \"CASE WHEN qty > 2 THEN 'big' ELSE 'small' END\"}},"
        " {name: bid, type: float, constraints: {derived: 'price * random(0.9, 0.95)'}}]",
        n=2000,
    )
    for r in data:
        assert r["notional"] == r["price"] * r["qty"]  # exact decimal arithmetic
        assert r["label"] == ("big" if r["qty"] > 2 else "small")
        assert 0.9 * float(r["price"]) <= r["bid"] < 0.95 * float(r["price"]) + 1e-9
    assert list(data[0])[:5] == ["price", "qty", "notional", "label", "bid"]  # schema order


def test_derived_field_that_reads_another_derived_one() -> None:
    data = rows(
        "[{name: b, type: integer, constraints: {derived: 'a * 2'}},"
        " {name: c, type: integer, constraints: {derived: 'b + 1'}},"
        " {name: a, type: integer, constraints: {sequence: {start: 1}}}]",
        n=3,
    )
    assert [(r["a"], r["b"], r["c"]) for r in data] == [(1, 2, 3), (2, 4, 5), (3, 6, 7)]


def test_foreign_keys_into_another_source() -> None:
    customers = [{"id": f"C-{i}"} for i in range(7)]
    data = rows(
        "[{name: cid, constraints: {references: {source: customers, field: id}}}]",
        references={"customers": customers},
    )
    got = Counter(r["cid"] for r in data)
    assert set(got) == {c["id"] for c in customers}
    assert chi2(got, {c["id"]: 1 / 7 for c in customers}, N) < 22.46  # df 6
    partial = rows(
        "[{name: cid, constraints: {references: {source: customers, field: id, match_rate: 0.8}}}]",
        references={"customers": customers},
    )
    hit = sum(r["cid"].startswith("C-") for r in partial) / N
    assert abs(hit - 0.8) < 4 * math.sqrt(0.8 * 0.2 / N)


def test_null_rate() -> None:
    data = rows("[{name: x, type: integer, null_rate: 0.25}, {name: y, type: integer}]")
    frac = sum(r["x"] is None for r in data) / N
    assert abs(frac - 0.25) < 4 * math.sqrt(0.25 * 0.75 / N)
    assert all(r["y"] is not None for r in data)


def test_patterns_uuids_booleans_dates() -> None:
    data = rows(
        "[{name: id, constraints: {pattern: 'ORD-[A-Z]{3}-[0-9]{2,4}'}},"
        " {name: u, type: uuid},"
        " {name: ok, type: boolean, constraints: {probability: 0.3}},"
        " {name: d, type: date, constraints: {range: {min: '2024-02-27', max: '2024-03-02'}}}]",
        n=5000,
    )
    assert all(re.fullmatch(r"ORD-[A-Z]{3}-[0-9]{2,4}", r["id"]) for r in data)
    assert {len(r["id"]) for r in data} == {10, 11, 12}
    assert all(uuid.UUID(r["u"]).version == 4 for r in data)
    assert len({r["u"] for r in data}) == 5000
    p = sum(r["ok"] for r in data) / 5000
    assert abs(p - 0.3) < 4 * math.sqrt(0.3 * 0.7 / 5000)
    assert {r["d"] for r in data} == {"2024-02-27", "2024-02-28", "2024-02-29", "2024-03-01",
                                      "2024-03-02"}  # fmt: skip


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ("[{name: x, type: strng}]", "fields[0] (x).type: unknown type 'strng'"),
        ("[{name: x, constraints: {rnge: {min: 1}}}]", "constraints: unknown key 'rnge'"),
        (
            "[{name: x, type: integer, constraints: {range: {min: 5, max: 1}}}]",
            "min 5.0 is above max",
        ),
        (
            "[{name: x, constraints: {enum_values: {values: [a, b], weights: [1]}}}]",
            "expected 2 weights",
        ),
        (
            "[{name: x, type: float, constraints: {distribution: {normal: {mean: 1}}}}]",
            "needs std_dev",
        ),
        ("[{name: x, constraints: {distribution: {poisson: {}}}}]", "expected one of uniform"),
        ("[{name: x, constraints: {pattern: 'AB{3'}}]", "unclosed '{'"),
        ("[{name: x}, {name: X}]", "duplicate field 'x'"),
    ],
)
def test_schema_errors_name_the_key(fields: str, message: str) -> None:
    with pytest.raises(SchemaError) as e:
        schema(fields)
    assert message in str(e.value)


def test_generation_errors() -> None:
    with pytest.raises(SchemaError, match="no input 'customers'"):
        rows("[{name: c, constraints: {references: {source: customers, field: id}}}]", n=1)
    with pytest.raises(SchemaError, match="unknown field 'nope'"):
        rows("[{name: c, type: integer, constraints: {derived: 'nope + 1'}}]", n=1)
    with pytest.raises(SchemaError, match="cycle"):
        rows(
            "[{name: a, type: integer, constraints: {derived: 'b + 1'}},"
            " {name: b, type: integer, constraints: {derived: 'a + 1'}}]",
            n=1,
        )
