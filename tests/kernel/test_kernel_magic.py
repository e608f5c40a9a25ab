"""`%%velo` in a real IPython kernel: live displays, `-o` to pandas, Python values as
parameters (bound as literals), Python data as sources, Stop keeps the partial result."""

from __future__ import annotations

import queue
import time

import pytest
from kernel_helpers import collect, run, send, start, table_rows


@pytest.fixture(scope="module")
def ipython():
    km, kc = start("python3")
    loaded = run(kc, "%load_ext velostream_kernel")
    assert loaded.reply["status"] == "ok", loaded.reply
    yield km, kc
    kc.stop_channels()
    km.shutdown_kernel(now=True)


def _stdout(cell) -> str:
    return "".join(m["content"]["text"] for m in cell.of_type("stream"))


def test_cell_magic_binds_parameters_and_returns_a_dataframe(ipython):
    _, kc = ipython
    setup = run(
        kc,
        "trades = [{'sym': 'A', 'qty': 5}, {'sym': \"O'B\", 'qty': 7}, {'sym': \"O'B\", 'qty': 1}]\n"
        'who = "O\'B"',
    )
    assert setup.reply["status"] == "ok"
    cell = run(kc, "%%velo -o df\nSELECT sym, qty * 2 AS double_qty FROM trades WHERE sym = :who")
    assert cell.reply["status"] == "ok", cell.reply
    html = cell.last_data(cell.display_ids("-table")[0])["text/html"]
    assert table_rows(html) == 2  # the two O'B rows
    check = run(kc, "print(type(df).__name__, list(df.columns), sorted(df['double_qty']))")
    assert _stdout(check).strip() == "DataFrame ['sym', 'double_qty'] [2, 14]"


def test_line_magic_and_errors(ipython):
    _, kc = ipython
    cell = run(kc, "%velo SHOW FUNCTIONS")
    assert cell.reply["status"] == "ok"
    assert "COUNT" in cell.displays()[0]["data"]["text/plain"]
    bad = run(kc, "%%velo\nSELECT a\nFROM t WHERE WITH ('t.type' = 'file_source')")
    assert bad.reply["status"] == "error"
    tb = bad.reply["traceback"]
    assert ":2:14:" in tb[0]
    assert tb[2] == "  " + " " * 13 + "^^^^"


def test_stop_keeps_the_partial_result_and_the_kernel(ipython):
    km, kc = ipython
    sql = (
        "%%velo\nSELECT symbol, COUNT(*) AS n FROM trades GROUP BY symbol\n"
        "WITH ('trades.type' = 'synthetic', 'trades.rate' = '200', "
        "'trades.schema' = 'symbol STRING ENUM(A,B), ts TIMESTAMP', "
        "'trades.event.time.field' = 'ts')"
    )
    sent: list[float] = []

    def on_message(msg):
        html = msg["content"].get("data", {}).get("text/html", "")
        if not sent and "<tbody>" in html and table_rows(html) > 0:
            sent.append(time.monotonic())
            km.interrupt_kernel()

    cell = collect(kc, send(kc, sql), on_message=on_message)
    assert sent
    print(f"magic: interrupt to idle {1000 * (time.monotonic() - sent[0]):.0f} ms")
    assert cell.reply["status"] == "ok"
    assert "query stopped" in _stdout(cell)
    assert table_rows(cell.last_data(cell.display_ids("-table")[0])["text/html"]) > 0
    assert run(kc, "1 + 1").reply["status"] == "ok"


def test_background_job_keeps_updating_after_its_cell(ipython):
    _, kc = ipython
    create = run(
        kc,
        "%%velo\nSET velo.refresh = 0.2;\nCREATE STREAM magic_bg AS SELECT symbol, COUNT(*) AS n "
        "FROM trades GROUP BY symbol WITH ('trades.type' = 'synthetic', 'trades.rate' = '100', "
        "'trades.schema' = 'symbol STRING ENUM(A,B), ts TIMESTAMP', "
        "'trades.event.time.field' = 'ts')",
    )
    assert create.reply["status"] == "ok"
    status_id = create.display_ids("-status")[0]
    end = time.monotonic() + 2.0
    later = 0
    while time.monotonic() < end:
        try:
            msg = kc.get_iopub_msg(timeout=0.2)
        except queue.Empty:
            continue
        content = msg["content"]
        if msg["msg_type"] == "update_display_data":
            later += content["transient"]["display_id"] == status_id
    assert later >= 2
    stop = run(kc, "%velo STOP JOB magic_bg")
    assert stop.reply["status"] == "ok"
    assert "stopped job magic_bg" in stop.displays()[-1]["data"]["text/plain"]
