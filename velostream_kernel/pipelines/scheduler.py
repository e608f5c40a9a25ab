"""`velo scheduler`: runs a project's pipelines.

- **Scheduled** pipelines run when their cron expression is due (croniter), at most
  `max_parallel` runs at a time; a run still going when its next fire time comes makes that
  fire time skipped, not queued. A run that fails, crashes or passes `timeout` is retried
  `retries` times (the pipeline's setting), after `retry_delay * 2**(attempt-1)` seconds.
- **Continuous** pipelines are kept running: when a run ends other than by `velo pipelines
  stop`, it is restarted after `restart_delay * 2**(failures-1)` seconds (at most
  `max_restart_delay`), resuming from the pipeline's checkpoints. A run that stays up
  `healthy_after` seconds resets the count; `crash_loop` failures in a row mark the pipeline
  `crash-loop` and it is not restarted until it is redeployed or started again.

Each run is its own process group (runner + papermill), so a timeout or a stop reaches all of
it; the kernel (its own session) is killed by the pid the runner wrote. One scheduler per
project (a lock file); runs left `running` by a scheduler that died are ended as crashed when
the next one starts (continuous pipelines are then restarted from their checkpoints).
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from velostream_kernel.pipelines.deploy import next_due
from velostream_kernel.pipelines.registry import Pipeline, Registry, RegistryError, Run

log = logging.getLogger("velostream.scheduler")


class SchedulerError(Exception):
    """The scheduler cannot start (another one holds the project's lock)."""


@dataclass
class Child:
    """A run process this scheduler started."""

    proc: subprocess.Popen
    run: Run
    kind: str
    started: float
    deadline: float | None
    reason: str = ""  # why we are stopping it: timeout | stop
    term_sent: float | None = None


@dataclass
class Pending:
    """A retry or restart waiting for its time."""

    at: float
    attempt: int
    trigger: str
    scheduled_for: float | None = None


@dataclass
class Restarts:
    """A continuous pipeline's failures in a row."""

    failures: int = 0
    last_error: str = ""


@dataclass
class Scheduler:
    """Starts, supervises, retries and restarts the runs of one project's pipelines."""

    reg: Registry
    max_parallel: int = 4
    timeout: float = 3600.0
    restart_delay: float = 2.0
    max_restart_delay: float = 300.0
    crash_loop: int = 5
    healthy_after: float = 60.0
    stop_grace: float = 20.0
    tick_s: float = 0.5
    children: dict[int, Child] = field(default_factory=dict)
    pending: dict[str, Pending] = field(default_factory=dict)
    restarts: dict[str, Restarts] = field(default_factory=dict)
    _lock: int | None = None

    # -- lifecycle ------------------------------------------------------------------------

    def acquire(self) -> None:
        """Take the project's scheduler lock; end the runs a dead scheduler left behind."""
        path = self.reg.root / "scheduler.lock"
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            other = Path(path).read_text().strip() or "?"
            os.close(fd)
            raise SchedulerError(
                f"another velo scheduler (pid {other}) is running for {self.reg.project}"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._lock = fd
        for run in self.reg.running():
            _kill_run_processes(run)
            self.reg.end_run(run.id, "crashed", "the scheduler that ran it stopped")

    def release(self) -> None:
        """Release the lock."""
        if self._lock is not None:
            os.close(self._lock)
            self._lock = None

    def run_forever(self, stop: list[bool] | None = None) -> None:
        """Tick until `stop[0]` is set (the CLI's SIGINT/SIGTERM); then stop every run."""
        stop = stop if stop is not None else [False]
        while not stop[0]:
            try:
                self.tick(time.time())
            except Exception:  # one bad tick (a busy registry, a removed folder) is not fatal
                log.exception("scheduler tick failed; trying again")
            time.sleep(self.tick_s)
        self.shutdown()

    def run_once(self) -> list[Run]:
        """Run every scheduled pipeline due now (with its retries) and wait for them; the
        finished runs. Continuous pipelines are left alone."""
        now = time.time()
        due = [
            p
            for p in self.reg.list()
            if p.kind == "scheduled" and p.status == "active" and (p.next_due or now) <= now
        ]
        started: list[int] = []
        names = {p.name for p in due}
        queue = list(due)
        while queue or self.children or any(n in self.pending for n in names):
            while queue and len(self.children) < self.max_parallel:
                p = queue.pop(0)
                started.append(self._start_scheduled(p, time.time()).id)
            for name in names:
                pend = self.pending.get(name)
                if pend and pend.at <= time.time() and len(self.children) < self.max_parallel:
                    del self.pending[name]
                    run = self._start(self.reg.get(name), pend.attempt, pend.trigger, pend)
                    started.append(run.id)
            self._reap(time.time())
            time.sleep(self.tick_s)
        return [self.reg.run(i) for i in started]

    def shutdown(self) -> None:
        """Stop every run this scheduler started (continuous runs checkpoint and end)."""
        for child in self.children.values():
            self._terminate(child, "stop")
        deadline = time.time() + self.stop_grace
        while self.children and time.time() < deadline:
            self._reap(time.time(), restart=False)
            time.sleep(0.2)
        for child in list(self.children.values()):
            _kill_group(child.proc.pid)
            _kill_run_processes(child.run)
        self._reap(time.time(), restart=False)
        self.release()

    # -- one tick -------------------------------------------------------------------------

    def tick(self, now: float) -> None:
        """Reap ended runs, stop what was stopped, start what is due."""
        self._reap(now)
        by_pipeline = {c.run.pipeline: c for c in self.children.values()}
        for p in self.reg.list():
            child = by_pipeline.get(p.name)
            if p.status != "active":
                self.pending.pop(p.name, None)
                if child is not None and not child.reason:
                    self._terminate(child, "stop")
                continue
            if p.kind == "scheduled":
                self._tick_scheduled(p, child, now)
            elif p.kind == "continuous" and child is None:
                pend = self.pending.get(p.name)
                if pend is None:
                    self._start(p, 1, "start")
                elif pend.at <= now:
                    del self.pending[p.name]
                    self._start(p, pend.attempt, pend.trigger)
        for name in list(self.pending):  # a removed pipeline
            if name not in {p.name for p in self.reg.list()}:
                del self.pending[name]

    def _tick_scheduled(self, p: Pipeline, child: Child | None, now: float) -> None:
        pend = self.pending.get(p.name)
        if child is None and pend is not None and pend.at <= now and self._room():
            del self.pending[p.name]
            self._start(p, pend.attempt, pend.trigger, pend)
            return
        if p.next_due is None or p.next_due > now:
            return
        if child is not None or pend is not None:
            log.warning("%s: still running at its next fire time; that run is skipped", p.name)
            self.reg.update(p.name, next_due=next_due(p.schedule or "", now))
            return
        if self._room():
            self._start_scheduled(p, now)

    def _room(self) -> bool:
        return len(self.children) < self.max_parallel

    def _start_scheduled(self, p: Pipeline, now: float) -> Run:
        fire = p.next_due
        self.reg.update(p.name, next_due=next_due(p.schedule or "", max(fire or now, now)))
        return self._start(p, 1, "schedule", Pending(now, 1, "schedule", fire))

    def _start(self, p: Pipeline, attempt: int, trigger: str, pend: Pending | None = None) -> Run:
        run = self.reg.start_run(p, attempt, trigger, pend.scheduled_for if pend else None)
        logf = open(Path(run.run_dir) / "run.log", "ab")
        cmd = [
            sys.executable,
            "-m",
            "velostream_kernel.pipelines.runner",
            "--project",
            str(self.reg.project),
            "--run-id",
            str(run.id),
            "--timeout",
            str(self.timeout),
        ]
        proc = subprocess.Popen(
            cmd, stdout=logf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,  # its own process group: a timeout or stop reaches all of it
        )  # fmt: skip
        logf.close()
        self.reg.set_run_pid(run.id, proc.pid)
        now = time.time()
        deadline = now + self.timeout if p.kind != "continuous" else None
        self.children[run.id] = Child(proc, run, p.kind, now, deadline)
        log.info("%s: run %s started (attempt %s, %s)", p.name, run.id, attempt, trigger)
        return run

    def _terminate(self, child: Child, reason: str) -> None:
        child.reason = child.reason or reason
        if child.term_sent is None:
            child.term_sent = time.time()
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(child.proc.pid, signal.SIGTERM)

    # -- ended runs -----------------------------------------------------------------------

    def _reap(self, now: float, restart: bool = True) -> None:
        for run_id, child in list(self.children.items()):
            if child.proc.poll() is None:
                if child.deadline is not None and now >= child.deadline:
                    self._terminate(child, "timeout")
                if child.term_sent is not None and now - child.term_sent >= self.stop_grace:
                    _kill_group(child.proc.pid)
                    _kill_run_processes(child.run)
                continue
            del self.children[run_id]
            _kill_run_processes(child.run)  # a kernel orphaned by a killed runner
            self._ended(child, now, restart)

    def _ended(self, child: Child, now: float, restart: bool) -> None:
        try:
            run = self.reg.run(child.run.id)
        except RegistryError:  # the pipeline was removed while it ran
            return
        status, error = run.status, run.error
        code = child.proc.returncode
        if child.reason == "timeout":
            status = "timeout"
            error = f"ran longer than the timeout ({self.timeout:g} s) and was stopped"
        elif status == "running":  # the runner died before it could say how the run ended
            status = "crashed"
            error = f"the run's process ended without a result ({_exit_text(code)})"
        elif child.reason == "stop" and status != "failed":
            status = "stopped"
        if (status, error) != (run.status, run.error) or run.ended_at is None:
            self.reg.end_run(run.id, status, error)
        log.info("%s: run %s %s%s", run.pipeline, run.id, status, f": {error}" if error else "")
        try:
            p = self.reg.get(run.pipeline)
        except RegistryError:  # removed meanwhile
            return
        if not restart or p.status != "active" or child.reason == "stop":
            return
        if p.kind == "continuous":
            self._after_continuous(p, child, status, error, now)
        elif status in ("failed", "crashed", "timeout") and run.attempt <= p.retries:
            delay = p.retry_delay * 2 ** (run.attempt - 1)
            self.pending[p.name] = Pending(now + delay, run.attempt + 1, "retry", run.scheduled_for)
            log.info("%s: retry %s in %.1f s", p.name, run.attempt, delay)

    def _after_continuous(
        self, p: Pipeline, child: Child, status: str, error: str | None, now: float
    ) -> None:
        if status in ("succeeded", "stopped"):
            # every job ended on its own (bounded inputs): nothing to keep running
            self.reg.update(p.name, status="completed", status_reason=f"last run {status}")
            return
        r = self.restarts.setdefault(p.name, Restarts())
        if now - child.started >= self.healthy_after:
            r.failures = 0  # it ran well for a while: this failure starts a new count
        r.failures += 1
        r.last_error = error or status
        if r.failures >= self.crash_loop:
            reason = (
                f"crash loop: {r.failures} runs in a row failed within {self.healthy_after:g} s;"
                f" last error: {r.last_error}"
            )
            self.reg.update(p.name, status="crash-loop", status_reason=reason)
            log.error("%s: %s", p.name, reason)
            del self.restarts[p.name]  # `velo pipelines start` begins a new count
            return
        delay = min(self.restart_delay * 2 ** (r.failures - 1), self.max_restart_delay)
        self.pending[p.name] = Pending(now + delay, child.run.attempt + 1, "restart")
        log.info("%s: restart in %.1f s (failure %s)", p.name, delay, r.failures)


def _exit_text(code: int | None) -> str:
    if code is not None and code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def _ours(pid: int, marker: bytes) -> bool:
    """Whether process `pid` is alive and its command line has `marker` (not a reused pid)."""
    try:
        return marker in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def _kill_run_processes(run: Run) -> None:
    """Kill a run's kernel (its own session, so not in the run's group) and its runner group,
    when they are still alive."""
    if run.pid and _ours(run.pid, b"velostream_kernel.pipelines.runner"):
        _kill_group(run.pid)
    try:
        pid = int((Path(run.run_dir) / "kernel.pid").read_text().strip())
    except (OSError, ValueError):
        return
    if _ours(pid, b"velostream_kernel"):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)


def signal_run(run: Run, sig: int = signal.SIGTERM) -> bool:
    """Send a signal to a run's runner process (`velo pipelines stop`); True when it was sent."""
    if not run.pid or not _ours(run.pid, b"velo"):
        return False
    try:
        os.kill(run.pid, sig)
    except (ProcessLookupError, PermissionError):
        return False
    return True
