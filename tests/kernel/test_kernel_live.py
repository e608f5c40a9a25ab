"""The Velostream SQL kernel driven through jupyter_client: live displays, interrupt, background
jobs, errors, completion, bounded mode. One kernel for the module (starting one takes seconds)."""

from __future__ import annotations

import queue
import time

import pytest
from kernel_helpers import TIMEOUT, collect, run, send, start, table_rows

TRADES = (
    "WITH ('trades.type' = 'synthetic', "
    "'trades.schema' = 'symbol STRING ENUM(A,B), qty BIGINT RANGE(1,9), ts TIMESTAMP', "
    "'trades.rate' = '{rate}', 'trades.event.time.field' = 'ts')"
)


@pytest.fixture(scope="module")
def kernel():
    km, kc = start()
    yield km, kc
    kc.stop_channels()
    km.shutdown_kernel(now=True)


def test_kernel_info_is_velosql_without_debugger(kernel):
    _, kc = kernel
    kc.kernel_info()
    info = kc.get_shell_msg(timeout=TIMEOUT)["content"]
    assert info["language_info"]["name"] == "velosql"
    assert info["language_info"]["mimetype"] == "text/x-sql"
    assert "debugger" not in info.get("supported_features", [])


def test_select_updates_one_display_in_place(kernel):
    _, kc = kernel
    sql = (
        "SET velo.refresh = 0.2;\n"
        "SELECT symbol, COUNT(*) AS trades, _window_start AS window_start\n"
        "FROM trades GROUP BY symbol WINDOW TUMBLING(500ms) EMIT FINAL LIMIT 12\n"
        + TRADES.format(rate=100)
    )
    cell = run(kc, sql)
    assert cell.reply["status"] == "ok"
    tables = cell.display_ids("-table")
    assert len(tables) == 1  # one display, updated in place
    table_id = tables[0]
    msgs = [
        m for m in cell.messages if m["content"].get("transient", {}).get("display_id") == table_id
    ]
    assert msgs[0]["msg_type"] == "display_data"
    assert {m["msg_type"] for m in msgs[1:]} == {"update_display_data"}
    sizes = [table_rows(m["content"]["data"]["text/html"]) for m in msgs]
    # the windows close one after another (0.5 s apart), so the table grows in several updates
    assert len(set(sizes)) >= 3
    assert sizes == sorted(sizes)
    assert sizes[-1] == 12  # LIMIT 12
    chart = cell.last_data(cell.display_ids("-chart")[0])["application/vnd.plotly.v1+json"]
    assert {t["type"] for t in chart["data"]} == {"scatter"}  # window start on x: a line
    assert {t["name"] for t in chart["data"]} == {"A", "B"}  # a line per symbol
    status = cell.last_data(cell.display_ids("-status")[0])["text/plain"]
    assert "12 rows out" in status
    assert "watermark" in status


def test_interrupt_stops_the_query_keeps_the_partial_result(kernel):
    km, kc = kernel
    sql = (
        "SET velo.refresh = 0.2;\n"
        "SELECT symbol, COUNT(*) AS n, _window_start AS window_start FROM trades\n"
        "GROUP BY symbol WINDOW TUMBLING(200ms)\n" + TRADES.format(rate=200)
    )
    sent: list[float] = []

    def on_message(msg):
        data = msg["content"].get("data", {})
        html = data.get("text/html", "")
        if not sent and "<tbody>" in html and table_rows(html) > 0:
            sent.append(time.monotonic())
            km.interrupt_kernel()

    cell = collect(kc, send(kc, sql), on_message=on_message)
    idle = time.monotonic()
    assert sent, "the query never showed a row"
    print(f"interrupt to idle: {1000 * (idle - sent[0]):.0f} ms")
    assert cell.reply["status"] == "ok"
    streams = "".join(m["content"]["text"] for m in cell.of_type("stream"))
    assert "query stopped" in streams
    status = cell.last_data(cell.display_ids("-status")[0])["text/plain"]
    assert "stopped" in status
    assert table_rows(cell.last_data(cell.display_ids("-table")[0])["text/html"]) > 0
    after = run(kc, "SHOW FUNCTIONS")
    assert after.reply["status"] == "ok"
    assert "COUNT" in after.displays()[0]["data"]["text/plain"]


def _drain(kc, seconds: float) -> list[dict]:
    end = time.monotonic() + seconds
    out = []
    while time.monotonic() < end:
        try:
            out.append(kc.get_iopub_msg(timeout=0.2))
        except queue.Empty:
            pass
    return out


def _job_row(text: str, name: str) -> list[str]:
    for line in text.splitlines():
        cells = [c.strip() for c in line.split("|")]
        if cells[0] == name:
            return cells
    raise AssertionError(f"{name} not in\n{text}")


def test_background_job_outlives_its_cell_and_stops_on_stop_job(kernel):
    _, kc = kernel
    create = run(
        kc,
        "SET velo.refresh = 0.2;\nCREATE STREAM bg_counts AS SELECT symbol, COUNT(*) AS n "
        "FROM trades GROUP BY symbol " + TRADES.format(rate=100),
    )
    assert create.reply["status"] == "ok"
    status_id = create.display_ids("-status")[0]
    later = [
        m
        for m in _drain(kc, 2.0)
        if m["parent_header"].get("msg_id") == create.msg_id
        and m["msg_type"] == "update_display_data"
        and m["content"]["transient"]["display_id"] == status_id
    ]
    assert len(later) >= 2  # the status keeps updating after the cell went idle
    jobs = run(kc, "SHOW JOBS")
    assert _job_row(jobs.displays()[0]["data"]["text/plain"], "bg_counts")[1] == "running"
    stop = run(kc, "STOP JOB bg_counts")
    assert stop.reply["status"] == "ok"
    assert "stopped job bg_counts" in stop.displays()[0]["data"]["text/plain"]
    jobs = run(kc, "SHOW JOBS")
    assert _job_row(jobs.displays()[0]["data"]["text/plain"], "bg_counts")[1] == "stopped"
    missing = run(kc, "STOP JOB no_such_job")
    assert missing.reply["status"] == "error"
    assert "no job named 'no_such_job'" in missing.reply["evalue"]


def test_sql_errors_carry_line_column_and_caret(kernel):
    _, kc = kernel
    cell = run(kc, "SELECT a\nFROM t WHERE WITH ('t.type' = 'file_source')")
    assert cell.reply["status"] == "error"
    assert cell.reply["ename"] == "SqlError"
    tb = cell.of_type("error")[0]["content"]["traceback"]
    # WITH is on line 2 after "FROM t WHERE " (13 characters): column 14
    assert ":2:14:" in tb[0]
    assert tb[1] == "  FROM t WHERE WITH ('t.type' = 'file_source')"
    assert tb[2] == "  " + " " * 13 + "^^^^"
    bad_setting = run(kc, "SET velo.nope = 1")
    assert bad_setting.reply["status"] == "error"
    assert "unknown setting 'velo.nope'" in bad_setting.reply["evalue"]
    unknown = run(kc, "SELECT x FROM nowhere_at_all")
    assert unknown.reply["status"] == "error"
    alive = run(kc, "SHOW STREAMS")  # the kernel is still there
    assert alive.reply["status"] == "ok"


def test_completion_and_inspection_come_from_the_catalog(kernel):
    _, kc = kernel
    made = run(
        kc,
        "CREATE STREAM completion_probe AS SELECT symbol, qty FROM trades "
        "WITH ('trades.type' = 'synthetic', 'trades.count' = '5', "
        "'trades.schema' = 'symbol STRING ENUM(A,B), qty BIGINT')",
    )
    assert made.reply["status"] == "ok"

    def matches(code: str) -> list[str]:
        kc.complete(code, len(code))
        return kc.get_shell_msg(timeout=TIMEOUT)["content"]["matches"]

    assert "completion_probe" in matches("SELECT * FROM completion_p")
    assert "COUNT" in matches("SELECT COU")
    assert "TUMBLING" in matches("SELECT 1 FROM t WINDOW TUMB")
    assert "trades.event.time.field" in matches("SELECT 1 FROM t WITH ('trades.event.ti")
    assert "synthetic" in matches("SELECT 1 FROM t WITH ('trades.type' = 'synth")
    kc.inspect("SELECT COUNT(x)", 9)
    reply = kc.get_shell_msg(timeout=TIMEOUT)["content"]
    assert reply["found"] and "COUNT" in reply["data"]["text/plain"]
    for code, status in (("SELECT a FROM", "incomplete"), ("SELECT a FROM t;", "complete")):
        kc.is_complete(code)
        assert kc.get_shell_msg(timeout=TIMEOUT)["content"]["status"] == status


def test_bounded_mode_and_parameters(kernel):
    _, kc = kernel
    src = TRADES.format(rate=100)
    cell = run(
        kc,
        "SET velo.mode = bounded;\nSET velo.bounded.count = 300;\n"
        f"SELECT COUNT(*) AS n FROM trades {src};",
    )
    assert cell.reply["status"] == "ok"
    fig = cell.last_data(cell.display_ids("-chart")[0])["application/vnd.plotly.v1+json"]
    assert fig["data"][0]["type"] == "indicator"
    assert fig["data"][0]["value"] == 300  # 300 records, counted
    quoted = run(kc, f"SET who = 'it''s; STOP JOB x';\nSELECT :who AS v FROM trades LIMIT 1 {src}")
    assert quoted.reply["status"] == "ok"
    text = quoted.last_data(quoted.display_ids("-table")[0])["text/plain"]
    assert text.splitlines()[2].strip() == "it's; STOP JOB x"
    only_b = run(kc, f"SET sym = 'B';\nSELECT symbol FROM trades WHERE symbol = :sym {src}")
    html = only_b.last_data(only_b.display_ids("-table")[0])["text/html"]
    assert table_rows(html) > 0
    assert "<td>A</td>" not in html
    assert run(kc, "SET velo.mode = live").reply["status"] == "ok"


def test_bounded_mode_as_a_kernel_option():
    km, kc = start(extra_arguments=["--VeloKernel.mode=bounded"])
    try:
        cell = run(
            kc,
            "SELECT COUNT(*) AS n FROM t "
            "WITH ('t.type' = 'synthetic', 't.schema' = 'a BIGINT', 't.rate' = '100')",
        )
        assert cell.reply["status"] == "ok"
        fig = cell.last_data(cell.display_ids("-chart")[0])["application/vnd.plotly.v1+json"]
        assert fig["data"][0]["value"] == 2000  # velo.bounded.count's default: 2000 records
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
