"""@metric annotation blocks: what they parse to, and a clear, located error for each bad one."""

from __future__ import annotations

import pytest

from velostream import Engine
from velostream.errors import SqlError
from velostream.metrics.spec import metric_specs
from velostream.sql.parse import parse_script

QUERY = "CREATE STREAM s AS SELECT symbol, price, qty, meta FROM t WITH ('t.type' = 'memory')"


def specs(block: str) -> list:
    stmt = parse_script(block + "\n" + QUERY, "app.sql").statements[0]
    return metric_specs(stmt)


def error(block: str) -> SqlError:
    with pytest.raises(SqlError) as e:
        specs(block)
    return e.value


def test_three_blocks_parse_to_their_specs() -> None:
    got = specs(
        "-- @app: demo\n"
        "-- @metric: velo_trades_total\n"
        "-- @metric_type: Counter\n"
        '-- @metric_help: "Trades seen"\n'
        "-- @metric_labels: symbol, meta.region\n"
        "-- @metric_condition: qty > 10 AND symbol IN ('A', 'B')\n"
        "--\n"
        "-- @metric: velo_price\n"
        "-- @metric_type: gauge\n"
        "-- @metric_field: price\n"
        "-- @metric_sample_rate: 0.25\n"
        "--\n"
        "-- @metric: velo_qty\n"
        "-- @metric_type: HISTOGRAM\n"
        "-- @metric_field: qty\n"
        "-- @metric_buckets: [0.5, 1, 10]\n"
    )
    assert [(s.name, s.kind) for s in got] == [
        ("velo_trades_total", "counter"),
        ("velo_price", "gauge"),
        ("velo_qty", "histogram"),
    ]
    c, g, h = got
    assert c.help_text == "Trades seen"
    assert c.labels == ["symbol", "meta.region"]
    assert c.label_names == ["symbol", "meta_region"]
    assert c.condition == "qty > 10 AND symbol IN ('A', 'B')"
    assert c.condition_expr is not None
    assert g.field == "price" and g.sample_rate == 0.25 and g.help_text == "velo_price metric"
    assert h.buckets == [0.5, 1.0, 10.0]
    assert (c.line, g.line, h.line) == (2, 8, 13)


def test_type_defaults_to_counter_and_counters_are_exposed_with_total() -> None:
    (s,) = specs("-- @metric: velo_rows")
    assert s.kind == "counter" and s.exposed_name == "velo_rows_total"


@pytest.mark.parametrize(
    ("block", "line", "words"),
    [
        ("-- @metric: 9bad", 1, ["invalid metric name '9bad'", "[a-zA-Z_:]"]),
        ("-- @metric:", 1, ["@metric needs a name"]),
        ("-- @metric_type: counter\n-- @metric: x", 1, ["before any @metric"]),
        ("-- @metric: x\n-- @metric_type: summary", 2, ["unknown metric type 'summary'", "gauge"]),
        ("-- @metric: x\n-- @metric_type: gauge", 1, ["needs @metric_field"]),
        ("-- @metric: x\n-- @metric_type: histogram", 1, ["needs @metric_field"]),
        ("-- @metric: x\n-- @metric_sample_rate: 1.5", 2, ["sample rate '1.5'", "0.0"]),
        ("-- @metric: x\n-- @metric_sample_rate: lots", 2, ["sample rate 'lots'"]),
        (
            "-- @metric: x\n-- @metric_type: histogram\n-- @metric_field: qty\n"
            "-- @metric_buckets: 5, 1",
            4,
            ["strictly ascending"],
        ),
        (
            "-- @metric: x\n-- @metric_type: histogram\n-- @metric_field: qty\n"
            "-- @metric_buckets: 0, 1",
            4,
            ["> 0"],
        ),
        (
            "-- @metric: x\n-- @metric_type: histogram\n-- @metric_field: qty\n"
            "-- @metric_buckets: a, b",
            4,
            ["bad bucket list"],
        ),
        ("-- @metric: x\n-- @metric_buckets: 1, 2", 2, ["applies to histograms"]),
        ("-- @metric: x\n-- @metric_condition: qty >", 2, ["bad @metric_condition"]),
        ("-- @metric: x\n-- @metric_labels: symbol,,qty", 2, ["empty label"]),
        ("-- @metric: x\n-- @metric_labels: le", 2, ["reserved"]),
        ("-- @metric: x\n-- @metric_type: gauge\n-- @metric_type: counter", 3, ["given twice"]),
        ("-- @metric: x\n--\n-- @metric: x", 3, ["declared twice"]),
    ],
)
def test_bad_annotations_name_the_line_and_what_was_expected(
    block: str, line: int, words: list[str]
) -> None:
    e = error(block)
    assert e.line == line
    text = str(e)
    assert text.startswith(f"app.sql:{line}:")
    for w in words:
        assert w in text, text


def test_a_field_or_label_that_is_not_an_output_column_is_an_error_at_its_line() -> None:
    eng = Engine()
    eng.register("t", [{"symbol": "A", "price": 1, "qty": 2}])
    sql = (
        "-- @metric: velo_x\n"
        "-- @metric_type: gauge\n"
        "-- @metric_field: volume\n"
        "CREATE STREAM s AS SELECT symbol, qty FROM t"
    )
    with pytest.raises(SqlError) as e:
        eng.execute(sql, "app.sql")
    assert e.value.line == 3
    assert "'volume' is not an output column" in str(e.value)
    assert "symbol, qty" in str(e.value)

    sql2 = (
        "-- @metric: velo_y\n-- @metric_labels: sym\n"
        "CREATE STREAM s2 AS SELECT symbol FROM g "
        "WITH ('g.type' = 'synthetic', 'g.schema' = 'symbol STRING', 'g.count' = '5')"
    )
    errors, _ = Engine().validate(sql2, "app.sql")
    assert len(errors) == 1
    assert errors[0].line == 2 and "'sym' is not an output column" in str(errors[0])


def test_velo_validate_reports_a_bad_annotation(tmp_path) -> None:
    from click.testing import CliRunner

    from velostream.cli import main

    f = tmp_path / "bad.sql"
    f.write_text(
        "-- @metric: velo_z\n-- @metric_type: countr\n"
        "CREATE STREAM s AS SELECT symbol FROM g "
        "WITH ('g.type' = 'synthetic', 'g.schema' = 'symbol STRING', 'g.count' = '5');\n"
    )
    res = CliRunner().invoke(main, ["validate", str(f)])
    assert res.exit_code == 1
    assert f"{f}:2:" in res.output and "unknown metric type 'countr'" in res.output


def test_a_metric_named_like_an_engine_metric_is_refused() -> None:
    eng = Engine()
    eng.register("t", [{"symbol": "A"}])
    with pytest.raises(SqlError) as e:
        eng.execute(
            "-- @metric: velo_job_records_in_total\nCREATE STREAM s AS SELECT symbol FROM t"
        )
    assert "engine metric" in str(e.value) and e.value.line == 1


def test_unknown_metric_directive_is_skipped_with_a_warning() -> None:
    warned: list[str] = []
    stmt = parse_script("-- @metric: velo_a\n-- @metric_colour: red\n" + QUERY).statements[0]
    (s,) = metric_specs(stmt, warned.append)
    assert s.name == "velo_a"
    assert warned and "@metric_colour" in warned[0] and "line 2" in warned[0]
