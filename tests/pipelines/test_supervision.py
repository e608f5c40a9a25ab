"""The scheduler's policies on real (tiny) processes standing for runs that end badly: retries
with doubling delays, a timeout, continuous restarts with backoff, crash-loop detection, and the
one-scheduler-per-project lock."""

from __future__ import annotations

import subprocess
import time

import pytest
from pipeline_helpers import make_notebook

from velostream_kernel.pipelines.deploy import deploy
from velostream_kernel.pipelines.registry import Registry
from velostream_kernel.pipelines.scheduler import Child, Scheduler, SchedulerError


@pytest.fixture
def reg(tmp_path):
    make_notebook(tmp_path / "nb.ipynb", None, "SHOW JOBS;")
    return Registry(tmp_path)


def child(reg, p, attempt, trigger, code="exit 3", started=None, deadline=None):
    """A run row and a real process standing for its runner."""
    run = reg.start_run(p, attempt, trigger)
    proc = subprocess.Popen(["/bin/sh", "-c", code], start_new_session=True)
    if deadline is None:
        proc.wait()
    return Child(proc, run, p.kind, started or time.time(), deadline)


def test_failed_runs_are_retried_with_doubling_delays(reg, tmp_path):
    p = deploy(reg, tmp_path / "nb.ipynb", "nightly", schedule="0 3 * * *", retries=2,
               retry_delay=10)  # fmt: skip
    s = Scheduler(reg)
    now = time.time()
    for attempt, delay in ((1, 10), (2, 20)):
        c = child(reg, p, attempt, "schedule" if attempt == 1 else "retry")
        s.children[c.run.id] = c
        s._reap(now)
        run = reg.run(c.run.id)
        assert run.status == "crashed"
        assert run.error == "the run's process ended without a result (exit code 3)"
        pend = s.pending.pop("nightly")
        assert (pend.attempt, pend.trigger, pend.at) == (attempt + 1, "retry", now + delay)
    c = child(reg, p, 3, "retry")  # the last retry fails too: no more
    s.children[c.run.id] = c
    s._reap(now)
    assert "nightly" not in s.pending


def test_a_run_past_its_timeout_is_stopped(reg, tmp_path):
    p = deploy(reg, tmp_path / "nb.ipynb", "slow", schedule="0 3 * * *", retries=0)
    s = Scheduler(reg, timeout=5)
    c = child(reg, p, 1, "schedule", code="sleep 60", deadline=time.time())
    s.children[c.run.id] = c
    s._reap(time.time())  # past the deadline: SIGTERM to the run's process group
    c.proc.wait(10)
    s._reap(time.time())
    run = reg.run(c.run.id)
    assert run.status == "timeout"
    assert run.error == "ran longer than the timeout (5 s) and was stopped"
    assert not s.children and "slow" not in s.pending


def test_continuous_restarts_back_off_then_stop_as_a_crash_loop(reg, tmp_path):
    p = deploy(reg, tmp_path / "nb.ipynb", "live", continuous=True)
    s = Scheduler(reg, restart_delay=1, crash_loop=4, healthy_after=60)
    now = time.time()
    delays = []
    for attempt in range(1, 5):
        c = child(reg, p, attempt, "start" if attempt == 1 else "restart", started=now - 1)
        s.children[c.run.id] = c
        s._reap(now)
        pend = s.pending.pop("live", None)
        delays.append(None if pend is None else pend.at - now)
    assert delays == [1, 2, 4, None]  # the 4th failure in a row is a crash loop
    live = reg.get("live")
    assert live.status == "crash-loop"
    assert live.status_reason.startswith("crash loop: 4 runs in a row failed within 60 s")
    assert "exit code 3" in live.status_reason
    s.tick(time.time())  # a crash-looping pipeline is not started again
    assert not s.children


def test_a_run_that_was_healthy_for_a_while_starts_a_new_count(reg, tmp_path):
    p = deploy(reg, tmp_path / "nb.ipynb", "live", continuous=True)
    s = Scheduler(reg, restart_delay=1, crash_loop=2, healthy_after=60)
    now = time.time()
    for attempt in (1, 2):
        c = child(reg, p, attempt, "restart", started=now - 120)  # ran 2 minutes each time
        s.children[c.run.id] = c
        s._reap(now)
        assert s.pending.pop("live").at == now + 1
    assert reg.get("live").status == "active"


def test_one_scheduler_per_project(reg):
    first = Scheduler(reg)
    first.acquire()
    try:
        with pytest.raises(
            SchedulerError, match=r"another velo scheduler \(pid \d+\) is running for"
        ):
            Scheduler(reg).acquire()
    finally:
        first.release()
    second = Scheduler(reg)
    second.acquire()  # free again
    second.release()
