"""`%%velo` and `%velo` for the IPython kernel: the same engine and live renderer as the
Velostream SQL kernel, results to pandas with `-o name`, Python values as `:name` parameters.

The engine runs on its own thread with its own asyncio loop, so background jobs keep running
between cells while the IPython kernel's loop stays free. During a cell the magic waits on the
main thread and makes every display call there; Ctrl-C / Stop (KeyboardInterrupt) stops the
foreground query and keeps the partial result.
"""

from __future__ import annotations

import asyncio
import os
import queue
import sys
import threading
from concurrent.futures import Future
from typing import Any

from IPython.core.magic import Magics, cell_magic, line_cell_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring
from IPython.display import display, update_display

from velostream.errors import SqlError
from velostream_kernel.session import Outcome, VeloSession


class VeloError(Exception):
    """An SQL error of a `%%velo` cell; IPython shows it without a Python traceback."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines

    def _render_traceback_(self) -> list[str]:
        return self.lines


class _EngineThread:
    """An asyncio loop on a daemon thread: where the session's engine and jobs live."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(
            target=self.loop.run_forever, name="velo-engine", daemon=True
        )
        self.thread.start()

    def submit(self, coro: Any) -> Future:
        return asyncio.run_coroutine_threadsafe(coro, self.loop)


@magics_class
class VeloMagics(Magics):
    """`%%velo [-o name] [--bounded]`: run Velostream SQL with live results."""

    def __init__(self, shell: Any) -> None:
        super().__init__(shell)
        self._engine_thread = _EngineThread()
        mode = os.environ.get("VELO_MODE", "live")
        self.session: VeloSession = self._engine_thread.submit(_make_session(mode)).result()
        self._queue: queue.Queue = queue.Queue()
        self._in_cell = False

    def _publish(self, kind: str, data: dict, display_id: str, meta: dict) -> None:
        """From the engine thread: queued for the main thread during a cell, else sent now."""
        if self._in_cell:
            self._queue.put((kind, data, display_id, meta))
        else:  # a background job's update after its cell: goes to the display with that id
            _show(kind, data, display_id, meta)

    @magic_arguments()
    @argument("-o", "--output", help="bind the last result to this name as a pandas DataFrame")
    @argument("--bounded", action="store_true", help="run bounded (sources stop at a count)")
    @argument("sql", nargs="*", help="the statement (line form)")
    @line_cell_magic
    def velo(self, line: str, cell: str | None = None) -> Any:
        """Run Velostream SQL; `:name` / `{name}` take Python values as SQL literals."""
        args = parse_argstring(self.velo, line)
        code = cell if cell is not None else " ".join(args.sql)
        if args.bounded:
            self.session.settings["mode"] = "bounded"
        outcome = self._run(code, keep_rows=bool(args.output))
        for w in outcome.warnings:
            print(f"warning: {w}", file=sys.stderr)
        if args.output:
            import pandas as pd

            self.shell.user_ns[args.output] = pd.DataFrame(outcome.rows, columns=outcome.columns)
        if outcome.status == "error" and outcome.error is not None:
            err = outcome.error
            if isinstance(err, SqlError):
                lines = str(err).splitlines()
                raise VeloError(
                    lines
                    + (
                        [f"hint: expected {', '.join(err.expected)}"]
                        if (err.expected and "expected" not in lines[0])
                        else []
                    )
                )
            raise err
        if outcome.status == "stopped":
            print("query stopped; the partial result is shown above")
        return None

    @cell_magic
    def velo_test(self, line: str, cell: str) -> None:
        """`%%velo_test [--spec FILE] [--seed N] [--only NAME]`: test the cell's SQL against a
        spec (the file, or the cell's `-- @test` block); pass/fail shows as a table."""
        from velostream_kernel.testing_cell import MAGIC, find_test, report_bundle, run_cell_test

        test = find_test(f"{MAGIC} {line}\n{cell}")
        assert test is not None
        report = self._engine_thread.submit(run_cell_test(test)).result()
        display(report_bundle(report), raw=True)
        if test.xfail and report.passed:
            raise VeloError(["velo test passed, but --xfail expects it to fail"])
        if not report.passed and not test.xfail:
            why = report.error or f"{len(report.failed)} of {len(report.results)} assertions failed"
            raise VeloError([f"velo test failed: {why}"])

    def _run(self, code: str, keep_rows: bool) -> Outcome:
        params = {k: v for k, v in self.shell.user_ns.items() if not k.startswith("_")}
        self._register_data(code, params)
        self._in_cell = True
        fut = self._engine_thread.submit(
            self.session.run_cell(
                code, self._publish, path="%%velo", keep_rows=keep_rows, params=params
            )
        )
        try:
            while True:
                try:
                    self._drain(timeout=0.05)
                    if fut.done() and self._queue.empty():
                        break
                except KeyboardInterrupt:  # Stop: end the query, keep the partial result
                    self._engine_thread.loop.call_soon_threadsafe(self.session.interrupt)
            return fut.result()
        finally:
            self._in_cell = False
            self._drain(timeout=0)

    def _register_data(self, code: str, names: dict[str, Any]) -> None:
        """Python data named in the cell (a DataFrame, an Arrow table, a list of dicts) becomes
        a bounded source of that name."""
        from velostream_kernel.statements import tokenize

        try:
            words = {t.text for t in tokenize(code)}
        except Exception:
            return
        for w in words & set(names):
            data = _as_source(names[w])
            if data is not None:
                self.session.engine.register(w, data)

    def _drain(self, timeout: float) -> None:
        try:
            item = self._queue.get(timeout=timeout) if timeout else self._queue.get_nowait()
        except queue.Empty:
            return
        _show(*item)
        while True:
            try:
                _show(*self._queue.get_nowait())
            except queue.Empty:
                return


def _as_source(v: Any) -> Any:
    """Data the engine's memory source takes, or None for any other Python value."""
    mod = type(v).__module__.split(".")[0]
    if mod == "pandas" and type(v).__name__ == "DataFrame":
        return v.to_dict("records")
    if mod in ("pyarrow", "polars") and type(v).__name__ in ("Table", "DataFrame"):
        return v
    if isinstance(v, list) and v and all(isinstance(r, dict) for r in v):
        return v
    return None


async def _make_session(mode: str) -> VeloSession:
    return VeloSession(mode=mode)  # made on the engine loop: the Engine's events bind to it


def _show(kind: str, data: dict, display_id: str, meta: dict) -> None:
    if not display_id:
        display(data, raw=True, metadata=meta)
    elif kind == "display_data":
        display(data, raw=True, metadata=meta, display_id=display_id)
    else:
        update_display(data, raw=True, metadata=meta, display_id=display_id)
