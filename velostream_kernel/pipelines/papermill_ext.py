"""papermill support for Velostream SQL notebooks.

papermill has no entry point for parameter translators, but it imports every
`papermill.engine` entry point when it starts; importing this module (through `VeloEngine`)
registers `VeloTranslator` for the kernel's language, so `papermill in.ipynb out.ipynb
-p symbol AAPL` works from the command line and from Python. Parameters become
`SET name = <literal>;` statements: strings are quoted SQL literals, never SQL text.

`VeloEngine` (papermill engine name `velostream`) can also *follow jobs*: with
`follow_jobs=True`, once every cell has run it keeps the kernel up while the background jobs the
notebook started (`CREATE STREAM|TABLE` in live mode) are running, keeps their status displays in
the saved notebook current, saves the notebook every few seconds, and ends when they have all
ended. A job that fails becomes an error output of the cell that started it (so papermill raises
`PapermillExecutionError` naming that cell); `request_stop()` (the runner's SIGTERM) stops the
jobs with `STOP JOB`, so each takes its final checkpoint; a kernel that dies raises
`DeadKernelError`. This is how a continuous pipeline runs unbounded under papermill.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from pathlib import Path
from typing import Any

import nbformat
from jupyter_core.utils import run_sync
from nbclient.exceptions import DeadKernelError
from papermill.clientwrap import PapermillNotebookClient
from papermill.engines import NBClientEngine
from papermill.log import logger
from papermill.models import Parameter
from papermill.translators import Translator, papermill_translators
from papermill.utils import merge_kwargs, remove_args
from traitlets import Bool, Float, Unicode

from velostream_kernel.kernel import LANGUAGE_INFO
from velostream_kernel.statements import split_cell, sql_literal

KERNEL_NAME = "velostream"


def _valid_name(name: str) -> bool:
    """A parameter name is a dotted identifier (nothing else can reach the SET text)."""
    parts = name.split(".")
    return all(
        p and (p[0].isalpha() or p[0] == "_") and p.replace("_", "a").isalnum() for p in parts
    )


class VeloTranslator(Translator):
    """Python values to `SET name = literal;` statements of the Velostream SQL kernel."""

    @classmethod
    def translate_str(cls, val: str) -> str:
        """A quoted SQL string literal ('' doubles a quote)."""
        return sql_literal(val)

    @classmethod
    def translate_none(cls, val: None) -> str:
        """NULL."""
        return "NULL"

    @classmethod
    def translate_bool(cls, val: bool) -> str:
        """TRUE or FALSE."""
        return sql_literal(val)

    @classmethod
    def translate_float(cls, val: float) -> str:
        """A numeric literal (NaN and infinities become NULL)."""
        return sql_literal(val)

    @classmethod
    def translate_escaped_str(cls, str_val: Any) -> str:
        """Anything else: its text as a quoted string literal."""
        return sql_literal(str(str_val))

    @classmethod
    def comment(cls, cmt_str: str) -> str:
        """An SQL line comment."""
        return f"-- {cmt_str}".strip()

    @classmethod
    def assign(cls, name: str, str_val: str) -> str:
        """`SET name = value;` (a name that is not a dotted identifier is refused)."""
        if not _valid_name(name):
            raise ValueError(f"parameter name {name!r} is not an identifier")
        return f"SET {name} = {str_val};"

    @classmethod
    def inspect(cls, parameters_cell: Any) -> list[Parameter]:
        """The `SET` statements of the parameters cell, for `--help-notebook` and checks."""
        try:
            chunks = split_cell(parameters_cell.source)
        except Exception:
            return []
        out = []
        for c in chunks:
            if c.kind == "set":
                typ = type(c.value).__name__ if c.value is not None else "NoneType"
                out.append(Parameter(c.key, typ, sql_literal(c.value), ""))
        return out


_STOP = threading.Event()
_FOLLOWING = threading.Event()
LIVE_STATES = ("created", "running")


def request_stop() -> bool:
    """Ask a run that follows its jobs to stop them; True when the follow loop will do it or
    a stop is already under way (False: the cells are still executing, and the caller must
    interrupt them itself)."""
    if _STOP.is_set():
        return True  # a second SIGTERM must not interrupt the stop (and the final save)
    _STOP.set()
    return _FOLLOWING.is_set()


class VeloNotebookClient(PapermillNotebookClient):
    """papermill's client, plus following the notebook's background jobs after its cells."""

    follow_jobs = Bool(False, help="keep running while the notebook's jobs run").tag(config=True)
    poll_interval = Float(1.0, help="seconds between job checks").tag(config=True)
    save_interval = Float(5.0, help="seconds between saves of the notebook").tag(config=True)
    kernel_pid_file = Unicode("", help="write the kernel's process id here").tag(config=True)

    def papermill_execute_cells(self) -> None:
        """Run the cells; then, when asked, follow the jobs they started."""
        self._note_kernel_pid()
        super().papermill_execute_cells()
        if self.follow_jobs and not self.nb.metadata.get("papermill", {}).get("exception"):
            _FOLLOWING.set()
            try:
                run_sync(self._follow)()
            finally:
                _FOLLOWING.clear()

    def _note_kernel_pid(self) -> None:
        if not self.kernel_pid_file:
            return
        prov = getattr(self.km, "provisioner", None)
        proc = getattr(prov, "process", None)
        pid = getattr(proc, "pid", None) or getattr(prov, "pid", None)
        if pid:
            Path(self.kernel_pid_file).write_text(str(pid))

    # -- following jobs -------------------------------------------------------------------

    async def _follow(self) -> None:
        self._job_fields: dict[str, dict] = {}
        last_save = time.monotonic()
        while True:
            if _STOP.is_set():
                for job in await self._live_jobs():
                    await self._hidden(f"STOP JOB {job};")
                await self._drain(1.0)  # the final status lines
                self.nb.metadata.setdefault("papermill", {})["velo_stopped"] = True
                return
            rows = await self._hidden_rows("SHOW JOBS;")
            failed = [r["name"] for r in rows if r.get("state") == "failed"]
            if failed:
                await self._fail(failed[0])
                return
            if not any(r.get("state") in LIVE_STATES for r in rows):
                await self._drain(0.5)
                return
            await self._drain(self.poll_interval)
            if time.monotonic() - last_save >= self.save_interval:
                self.nb_man.save()
                last_save = time.monotonic()
                self._log_status()

    def _log_status(self) -> None:
        """The jobs' status lines, into the run's log (`velo pipelines logs`)."""
        from velostream_kernel.display.status import status_text

        for fields in self._job_fields.values():
            try:
                self.log.info(status_text(fields))
            except (KeyError, TypeError, ValueError):  # a display this version cannot read
                continue

    async def _live_jobs(self) -> list[str]:
        rows = await self._hidden_rows("SHOW JOBS;")
        return [r["name"] for r in rows if r.get("state") in LIVE_STATES]

    async def _fail(self, job: str) -> None:
        """Record a failed job as an error of the cell that started it."""
        deadline = time.monotonic() + 3.0
        while time.monotonic() < deadline and not self._job_fields.get(job, {}).get("note"):
            await self._drain(0.25)  # the kernel notes why a job failed at its next tick
        note = self._job_fields.get(job, {}).get("note") or "failed"
        index = self._cell_of(job)
        evalue = f"job '{job}' {note}"
        err = nbformat.v4.new_output(
            "error", ename="JobFailed", evalue=evalue, traceback=[f"JobFailed: {evalue}"]
        )
        cell = self.nb.cells[index]
        cell.setdefault("outputs", []).append(err)
        self.nb_man.cell_exception(cell, cell_index=index)

    def _cell_of(self, job: str) -> int:
        """The index of the cell whose outputs show the job's status (else the last cell)."""
        for i, cell in enumerate(self.nb.cells):
            for out in cell.get("outputs", []):
                meta = out.get("metadata", {}).get("velostream")
                if isinstance(meta, dict) and meta.get("job") == job:
                    return i
        return len(self.nb.cells) - 1

    async def _hidden_rows(self, code: str) -> list[dict[str, str]]:
        """Run SQL that shows a table, outside the notebook; its rows as strings."""
        for data in await self._hidden(code):
            text = data.get("text/plain", "")
            if " | " in text:
                return _parse_table(text)
        return []

    async def _hidden(self, code: str) -> list[dict]:
        """Execute code without recording it in the notebook; the display data it produced."""
        msg_id = self.kc.execute(code, store_history=False, allow_stdin=False)
        shown: list[dict] = []
        replied = idle = False
        while not (replied and idle):
            if not replied:
                with contextlib.suppress(queue.Empty):
                    msg = await self.kc.get_shell_msg(timeout=0.05)
                    replied = msg["parent_header"].get("msg_id") == msg_id or replied
            msg = await self._iopub(0.5)
            if msg is None:
                await self._check_alive()
                continue
            if msg["parent_header"].get("msg_id") == msg_id:
                kind = msg["msg_type"]
                if kind == "display_data":
                    shown.append(msg["content"]["data"])
                elif kind == "status" and msg["content"]["execution_state"] == "idle":
                    idle = True
            else:
                self._apply(msg)
        return shown

    async def _drain(self, seconds: float) -> None:
        """Apply the kernel's display updates for `seconds`."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            msg = await self._iopub(left)
            if msg is not None:
                self._apply(msg)
        await self._check_alive()

    async def _iopub(self, timeout: float) -> dict | None:
        try:
            return await self.kc.get_iopub_msg(timeout=max(timeout, 0.01))
        except (TimeoutError, queue.Empty):
            return None

    async def _check_alive(self) -> None:
        if not await self.km.is_alive():
            raise DeadKernelError("the kernel died while the pipeline's jobs were running")

    def _apply(self, msg: dict) -> None:
        """A background display update: into the saved notebook, and note the job status."""
        if msg["msg_type"] not in ("update_display_data", "display_data"):
            return
        meta = msg["content"].get("metadata", {}).get("velostream")
        if isinstance(meta, dict) and "job" in meta:
            self._job_fields[meta["job"]] = meta
        display_id = msg["content"].get("transient", {}).get("display_id")
        if display_id:
            self._update_display_id(display_id, msg)


def _parse_table(text: str) -> list[dict[str, str]]:
    """The rows of the kernel's plain-text table (`a | b` header, `-+-` rule, rows)."""
    lines = text.splitlines()
    header = [h.strip() for h in lines[0].split(" | ")]
    rows = []
    for line in lines[2:]:
        cells = [c.strip() for c in line.split(" | ")]
        if len(cells) == len(header):
            rows.append(dict(zip(header, cells, strict=True)))
    return rows


class VeloEngine(NBClientEngine):
    """papermill's default engine with job following (`follow_jobs=True`); being an entry point
    is also what loads the translator."""

    @classmethod
    def execute_managed_notebook(
        cls,
        nb_man: Any,
        kernel_name: str,
        log_output: bool = False,
        stdout_file: Any = None,
        stderr_file: Any = None,
        start_timeout: int = 60,
        execution_timeout: float | None = None,
        **kwargs: Any,
    ) -> Any:
        """Execute the notebook with `VeloNotebookClient` (as NBClientEngine does)."""
        kwargs = remove_args(["input_path"], **kwargs)
        safe_kwargs = remove_args(["timeout", "startup_timeout"], **kwargs)
        final_kwargs = merge_kwargs(
            safe_kwargs,
            timeout=execution_timeout if execution_timeout else kwargs.get("timeout"),
            startup_timeout=start_timeout,
            kernel_name=kernel_name,
            log=logger,
            log_output=log_output,
            stdout_file=stdout_file,
            stderr_file=stderr_file,
        )
        return VeloNotebookClient(nb_man, **final_kwargs).execute()


def register() -> None:
    """Register the translator under the kernel's language and kernel name."""
    papermill_translators.register(LANGUAGE_INFO["name"], VeloTranslator)
    papermill_translators.register(KERNEL_NAME, VeloTranslator)


register()
