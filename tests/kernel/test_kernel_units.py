"""The kernel's pure parts without a kernel: cell splitting, parameter binding, result tables,
chart choice, result modes, status lines, completion."""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace

import pytest

from velostream.engine import Engine
from velostream.errors import SqlError
from velostream.sql.parse import parse_statement
from velostream_kernel.completion import complete, is_complete
from velostream_kernel.display.chart import choose_figure
from velostream_kernel.display.status import status_fields, status_text
from velostream_kernel.display.table import ResultTable
from velostream_kernel.session import result_mode
from velostream_kernel.statements import bind_parameters, split_cell, sql_literal


def test_split_cell_kinds_values_and_positions():
    cell = "SET velo.mode = bounded;\n  SET n = -5;\nSTOP JOB j1;\n-- @viz: bar\nSELECT 1 FROM t"
    chunks = split_cell(cell)
    assert [c.kind for c in chunks] == ["set", "set", "stop_job", "sql"]
    assert (chunks[0].key, chunks[0].value) == ("velo.mode", "bounded")
    assert (chunks[1].key, chunks[1].value, chunks[1].line, chunks[1].col) == ("n", -5, 2, 3)
    assert chunks[2].key == "j1"
    sql = chunks[3]
    assert (sql.line, sql.col) == (5, 1)
    # earlier statements are blanked, so line numbers in the text are the cell's own
    assert sql.text.splitlines()[3:] == ["-- @viz: bar", "SELECT 1 FROM t"]
    assert sql.text.splitlines()[0].strip() == ""


def test_set_string_value_undoes_quote_doubling():
    (chunk,) = split_cell("SET who = 'it''s'")
    assert chunk.value == "it's"


def test_stop_job_needs_one_name():
    with pytest.raises(SqlError):
        split_cell("STOP JOB a b")


@pytest.mark.parametrize(
    ("value", "literal"),
    [
        (None, "NULL"),
        (True, "TRUE"),
        (7, "7"),
        (1.5, "1.5"),
        (float("nan"), "NULL"),
        (Decimal("10.50"), "10.50"),
        ("O'Brien", "'O''Brien'"),
        ("'; DROP x; --", "'''; DROP x; --'"),
    ],
)
def test_sql_literal(value, literal):
    assert sql_literal(value) == literal


def test_bind_parameters_touches_only_parameter_tokens():
    sql = "SELECT :who, {who}, ':who', a::who, :other -- :who\nFROM t"
    bound = bind_parameters(sql, {"who": "x'y"})
    assert bound == "SELECT 'x''y', 'x''y', ':who', a::who, :other -- :who\nFROM t"


def test_bind_parameters_prefers_the_exact_name():
    assert bind_parameters("SELECT :A, :a", {"A": 1, "a": 2}) == "SELECT 1, 2"


def test_append_table_newest_first_and_capped():
    t = ResultTable(["k", "v"], "append", max_rows=2)
    t.add([{"k": "a", "v": 1}, {"k": "b", "v": 2}, {"k": "c", "v": 3}])
    assert [r["k"] for r in t.shown()] == ["c", "b"]
    assert "showing 2 of 3 rows" in t.text()


def test_update_table_one_row_per_key_latest_change_first():
    t = ResultTable(["k", "n"], "update", keys=["k"])
    t.add([{"k": "a", "n": 1}, {"k": "b", "n": 1}, {"k": "a", "n": 2}])
    assert t.shown() == [{"k": "a", "n": 2}, {"k": "b", "n": 1}]


def test_single_table_keeps_the_last_row():
    t = ResultTable(["n"], "single")
    t.add([{"n": 1}, {"n": 2}])
    assert t.shown() == [{"n": 2}]
    assert "<td>2</td>" in t.html()


def test_html_escapes_values_and_formats_window_times():
    t = ResultTable(["s", "window_start"])
    t.add([{"s": "<b>", "window_start": 1_700_000_000_000}])
    html = t.html()
    assert "&lt;b&gt;" in html
    assert "2023-11-14 22:13:20.000" in html  # 1.7e12 ms is 2023-11-14T22:13:20Z


def test_chart_window_start_makes_a_line_per_category():
    rows = [
        {"sym": "A", "n": 1, "window_start": 1000},
        {"sym": "B", "n": 2, "window_start": 1000},
        {"sym": "A", "n": 3, "window_start": 2000},
    ]
    fig = choose_figure(["sym", "n", "window_start"], rows)
    assert [(t["type"], t["name"], t["y"]) for t in fig["data"]] == [
        ("scatter", "A", [1, 3]),
        ("scatter", "B", [2]),
    ]
    assert fig["data"][0]["x"] == ["1970-01-01 00:00:01.000", "1970-01-01 00:00:02.000"]


def test_chart_category_and_number_make_a_bar():
    rows = [{"sym": "A", "n": Decimal("1.5")}, {"sym": "B", "n": Decimal("2")}]
    fig = choose_figure(["sym", "n"], rows)
    assert [(t["type"], t["x"], t["y"]) for t in fig["data"]] == [("bar", ["A", "B"], [1.5, 2.0])]


def test_chart_single_value_makes_an_indicator():
    fig = choose_figure(["n"], [{"n": 42}])
    assert fig["data"] == [
        {"type": "indicator", "mode": "number", "value": 42, "title": {"text": "n"}}
    ]


def test_chart_none_for_repeated_categories_unless_asked():
    rows = [{"sym": "A", "n": 1}, {"sym": "A", "n": 2}]
    assert choose_figure(["sym", "n"], rows) is None
    fig = choose_figure(["sym", "n"], rows, {"viz": "bar"})
    assert fig["data"][0]["type"] == "bar"


def test_chart_annotations_pick_axes_and_can_turn_it_off():
    rows = [{"sym": "A", "n": 1, "m": 5, "window_start": 0}]
    fig = choose_figure(["sym", "n", "m", "window_start"], rows, {"viz_y": "m"})
    assert fig["data"][0]["y"] == [5]
    fig = choose_figure(["sym", "n", "m", "window_start"], rows, {"viz": "bar", "viz_x": "sym"})
    assert (fig["data"][0]["type"], fig["data"][0]["x"]) == ("bar", ["A"])
    assert choose_figure(["sym", "n"], rows, {"viz": "none"}) is None


def _job(sql: str):
    engine = Engine()
    engine.register("t", [{"k": "a", "v": 1}])
    stmt = parse_statement(sql)
    return engine.build_job(stmt, [], sink=False), stmt


def test_result_modes_follow_the_query_shape():
    job, stmt = _job("SELECT k, COUNT(*) AS n FROM t GROUP BY k")
    assert result_mode(job, stmt) == ("update", ["k"])
    job, stmt = _job("SELECT COUNT(*) AS n FROM t")
    assert result_mode(job, stmt) == ("single", [])
    job, stmt = _job("SELECT k, v FROM t")
    assert result_mode(job, stmt)[0] == "append"
    job, stmt = _job("-- @mode: append\nSELECT k, COUNT(*) AS n FROM t GROUP BY k")
    assert result_mode(job, stmt)[0] == "append"


def test_status_line_numbers():
    stats = SimpleNamespace(
        records_in=1200,
        rows_out=15,
        late=2,
        malformed=0,
        watermark=1_700_000_000_000,
        ended_at=1.0,
        rate=lambda: 200.0,
    )
    job = SimpleNamespace(name="q", state="running", stats=stats, bounded=True, pipeline=None)
    text = status_text(status_fields(job))
    assert text == (
        "● q running · 1,200 records in (200/s) · 15 rows out · "
        "watermark 2023-11-14 22:13:20.000 · 2 late"
    )
    assert "/s" not in status_text(status_fields(job, timing=False))


def test_completion_without_a_kernel():
    engine = Engine()
    engine.register("orders", [{"order_id": 1}])
    reply = complete(engine, "SELECT ord", 10)
    assert reply["cursor_start"] == 7
    assert {"orders", "order_id"} <= set(reply["matches"])
    code = "SELECT 1 FROM orders WITH ('orders.waterm"
    assert complete(engine, code, len(code))["matches"] == ["orders.watermark.max_out_of_orderness"]


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("", "complete"),
        ("SELECT a FROM t", "complete"),
        ("SELECT a FROM", "incomplete"),
        ("SELECT 'open", "incomplete"),
        ("SET x = 1", "complete"),
        ("SELECT a FROM t;", "complete"),
    ],
)
def test_is_complete(code, status):
    assert is_complete(code)["status"] == status


def test_set_takes_a_parameter_reference():
    import asyncio

    from velostream_kernel.session import VeloSession
    from velostream_kernel.statements import ParamRef

    (chunk,) = split_cell("SET velo.mode = :wanted")
    assert chunk.value == ParamRef("wanted")
    session = VeloSession()
    sent: list = []
    out = asyncio.run(
        session.run_cell(
            "SET velo.mode = :wanted", lambda *a: sent.append(a), params={"wanted": "bounded"}
        )
    )
    assert (out.status, session.settings["mode"]) == ("ok", "bounded")
    out = asyncio.run(session.run_cell("SET velo.mode = :missing", lambda *a: None))
    assert out.status == "error" and "no parameter named 'missing'" in str(out.error)


def test_function_signatures_from_arity():
    from velostream_kernel.completion import signature

    assert signature("substring") == "SUBSTRING(arg1, arg2[, arg3])"  # SUBSTRING(s, from[, n])
    assert signature("NOW") == "NOW()"
    assert signature("no_such_function") is None
    reply = complete(Engine(), "SELECT SUBSTR", 13)
    types = reply["metadata"]["_jupyter_types_experimental"]
    assert {"text": "SUBSTRING", "type": "function"}.items() <= next(
        t for t in types if t["text"] == "SUBSTRING"
    ).items()


def test_engine_warnings_of_a_cell_are_reported():
    import asyncio

    from velostream_kernel.session import VeloSession

    session = VeloSession()
    out = asyncio.run(session.run_cell("SHOW -- @viz: bar\nJOBS", lambda *a: None))
    assert out.status == "ok"
    assert out.warnings == ["annotation at line 1 is not on a line of its own; it is ignored"]
