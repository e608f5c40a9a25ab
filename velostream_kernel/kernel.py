"""The "Velostream SQL" Jupyter kernel: cells are Velostream SQL, results are live displays."""

from __future__ import annotations

import asyncio
import os
import signal
from typing import Any

from ipykernel.kernelbase import Kernel
from traitlets import Integer, Unicode

from velostream.errors import SqlError
from velostream_kernel import __version__, control
from velostream_kernel.assistant.ask_magic import is_ask, run_ask
from velostream_kernel.completion import complete, inspect, is_complete
from velostream_kernel.session import VeloSession
from velostream_kernel.testing_cell import test_before_cell

LANGUAGE_INFO = {
    "name": "velosql",  # papermill finds the parameter translator by this name: keep it
    "version": "1.0",
    "mimetype": "text/x-sql",
    "file_extension": ".sql",
    "codemirror_mode": "sql",
    "pygments_lexer": "sql",
}


def _env_port(name: str) -> int:
    """A port number from the environment; -1 when unset or not a number."""
    try:
        return int(os.environ.get(name) or -1)
    except ValueError:
        return -1


class VeloKernel(Kernel):
    """Runs each cell's statements on one engine per kernel; SELECT results update live."""

    implementation = "velostream"
    implementation_version = __version__
    banner = "Velostream SQL: streaming SQL with live results (SHOW FUNCTIONS lists functions)"
    language_info = LANGUAGE_INFO
    help_links = []

    mode = Unicode(
        os.environ.get("VELO_MODE", "live"),
        help="live, or bounded: every source stops at a record count (papermill, CI)",
    ).tag(config=True)

    metrics_port = Integer(
        _env_port("VELO_METRICS_PORT"),
        help="serve Prometheus /metrics of this kernel's jobs on this port (-1: off; 0: any)",
    ).tag(config=True)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.velo = VeloSession(mode=self.mode)
        self._loop: asyncio.AbstractEventLoop | None = None
        # The studio (jobs panel, assistant) asks on the control channel: served during a cell.
        self._queries = control.track_queries(self.velo)
        self.control_handlers["velo_request"] = self.velo_request
        self._recent: list[str] = []  # the last cells run, for %ask's prompt
        self.metrics_server = None
        if self.metrics_port >= 0:  # a deployed pipeline's kernel: Prometheus scrapes it
            from velostream.metrics import serve

            addr = os.environ.get("VELO_METRICS_ADDR", "127.0.0.1")
            try:
                self.metrics_server = serve(self.metrics_port, addr, engine=self.velo.engine)
                self.log.info("velostream: metrics at %s", self.metrics_server.url)
            except OSError as e:
                self.log.warning("velostream: no /metrics: %s", e)

    @property
    def kernel_info(self) -> dict[str, Any]:
        """kernel_info without "debugger": there is nothing to debug in SQL."""
        info = super().kernel_info
        feats = [f for f in info.get("supported_features", []) if f != "debugger"]
        info["supported_features"] = feats
        info.pop("debugger", None)
        return info

    # -- execution -----------------------------------------------------------------------

    async def do_execute(
        self,
        code: str,
        silent: bool,
        store_history: bool = True,
        user_expressions: dict | None = None,
        allow_stdin: bool = False,
        *,
        cell_meta: dict | None = None,
        cell_id: str | None = None,
    ) -> dict[str, Any]:
        """Run the cell's statements; errors are shown with their position, never fatal."""
        self._loop = asyncio.get_running_loop()
        reply = {
            "status": "ok",
            "execution_count": self.execution_count,
            "payload": [],
            "user_expressions": {},
        }
        if not code.strip():
            return reply
        if is_ask(code):
            return await self._ask(code, reply, silent)
        if not silent:
            self._recent = [*self._recent, code][-8:]
        parent = self.get_parent()

        def publish(kind: str, data: dict, display_id: str, meta: dict) -> None:
            if silent:
                return
            content: dict[str, Any] = {"data": data, "metadata": meta, "transient": {}}
            if display_id:
                content["transient"]["display_id"] = display_id
            self.session.send(
                self.iopub_socket, kind, content, parent=parent, ident=self._topic(kind)
            )

        path = f"In[{self.execution_count}]"
        code, test_failure = await test_before_cell(code, publish)  # -- @test / %%velo_test
        if not code.strip():
            if test_failure:
                return self._error(reply, "TestFailed", test_failure, [test_failure])
            return reply
        try:
            outcome = await self.velo.run_cell(code, publish, path=path)
        except Exception as e:  # a bug or a job failure: show it, keep the kernel alive
            return self._error(reply, type(e).__name__, str(e), [f"{type(e).__name__}: {e}"])
        for w in outcome.warnings:
            self._stream("stderr", f"warning: {w}\n", silent)
        if outcome.status == "stopped":
            self._stream("stderr", "query stopped; the partial result is shown above\n", silent)
        if outcome.status == "error" and outcome.error is not None:
            err = outcome.error
            if isinstance(err, SqlError):
                return self._error(reply, "SqlError", err.message, _sql_traceback(err))
            return self._error(reply, type(err).__name__, str(err), [str(err)])
        if test_failure:
            return self._error(reply, "TestFailed", test_failure, [test_failure])
        return reply

    async def _ask(self, code: str, reply: dict, silent: bool) -> dict[str, Any]:
        """`%ask question`: the assistant's SQL becomes the next cell (set_next_input)."""
        cat = control.catalog(self.velo)
        payloads, err = await run_ask(
            code, cat, self._recent, lambda n, t: self._stream(n, t, silent)
        )
        if err is not None:
            return self._error(reply, "AskError", err, [err])
        reply["payload"] = payloads
        return reply

    def velo_request(self, stream: Any, ident: Any, parent: dict) -> None:
        """A studio request on the control channel (velostream_kernel.control)."""
        content = control.handle(self.velo, self._queries, self._loop, parent.get("content", {}))
        self.session.send(stream, "velo_reply", content, parent, ident=ident)

    def _error(self, reply: dict, ename: str, evalue: str, tb: list[str]) -> dict:
        content = {"ename": ename, "evalue": evalue, "traceback": tb}
        self.send_response(self.iopub_socket, "error", content)
        reply.update(status="error", **content)
        return reply

    def _stream(self, name: str, text: str, silent: bool) -> None:
        if not silent:
            self.send_response(self.iopub_socket, "stream", {"name": name, "text": text})

    # -- interrupt (interrupt_mode: message) -------------------------------------------------

    async def interrupt_request(self, stream: Any, ident: Any, parent: Any) -> None:
        """Stop the foreground query (runs on the control thread; hands over to the loop)."""
        loop = self._loop
        if loop is not None:
            loop.call_soon_threadsafe(self.velo.interrupt)
        self.session.send(stream, "interrupt_reply", {"status": "ok"}, parent, ident=ident)

    def pre_handler_hook(self) -> None:
        """A SIGINT (a client in signal mode) stops the foreground query, like Stop does,
        instead of raising KeyboardInterrupt wherever the loop happens to be."""
        self.saved_sigint_handler = signal.signal(signal.SIGINT, self._on_sigint)

    def _on_sigint(self, signum: int, frame: Any) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self.velo.interrupt)

    # -- completion and inspection --------------------------------------------------------

    async def do_complete(self, code: str, cursor_pos: int) -> dict[str, Any]:
        """Keywords, functions, streams, tables, columns and WITH keys from the live catalog."""
        return complete(self.velo.engine, code, cursor_pos)

    async def do_inspect(
        self, code: str, cursor_pos: int, detail_level: int = 0, omit_sections: Any = ()
    ) -> dict[str, Any]:
        """A function's signature and description, or a stream's columns."""
        return inspect(self.velo.engine, code, cursor_pos)

    async def do_is_complete(self, code: str) -> dict[str, Any]:
        """complete when the last statement ends with `;` or parses; else incomplete."""
        return is_complete(code)

    async def do_shutdown(self, restart: bool) -> dict[str, Any]:
        """Stop every running job."""
        await self.velo.shutdown()
        if self.metrics_server is not None:
            self.metrics_server.close()
            self.metrics_server = None
        return {"status": "ok", "restart": restart}


def _sql_traceback(err: SqlError) -> list[str]:
    """The error as the frontend shows it: location and message in red, the line, the caret."""
    lines = str(err).splitlines()
    red, reset = "\x1b[31m", "\x1b[0m"
    out = [f"{red}{lines[0]}{reset}", *lines[1:]]
    if err.expected and "expected" not in lines[0]:
        out.append(f"hint: expected {', '.join(err.expected)}")
    return out
