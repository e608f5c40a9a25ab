"""At-least-once delivery: offsets reach the consumer group only once the sinks have the
output; a job killed mid-stream and restarted from its SQLite checkpoint neither loses nor
double-counts window state."""

from __future__ import annotations

import asyncio

import duckdb
import orjson
from kafka_helpers import kafka_with, sink_with
from services.kafka import consume_all, create_topic, produce

from velostream import Engine


def _committed(bootstrap: str, topic: str, group: str, partitions: int) -> dict[int, int | None]:
    from aiokafka import AIOKafkaConsumer, TopicPartition

    async def run() -> dict[int, int | None]:
        c = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
        await c.start()
        try:
            tps = [TopicPartition(topic, p) for p in range(partitions)]
            c.assign(tps)
            return {tp.partition: await c.committed(tp) for tp in tps}
        finally:
            await c.stop()

    return asyncio.run(run())


def _ticks(n: int, partitions: int) -> list[dict]:
    """n messages, round robin over partitions, event time 10 ms apart (in the value)."""
    return [
        {
            "value": {"sym": "XYZ"[i % 3], "qty": i % 5 + 1, "ts": 10 * i},
            "partition": i % partitions,
        }
        for i in range(n)
    ]


def _duckdb_windows(msgs: list[dict]) -> list[tuple]:
    con = duckdb.connect()
    con.execute("CREATE TABLE t (sym VARCHAR, qty BIGINT, ts BIGINT)")
    con.executemany(
        "INSERT INTO t VALUES (?, ?, ?)",
        [(m["value"]["sym"], m["value"]["qty"], m["value"]["ts"]) for m in msgs],
    )
    return con.execute(
        "SELECT sym, ts // 1000 * 1000 AS ws, COUNT(*), SUM(qty) FROM t GROUP BY ALL ORDER BY ALL"
    ).fetchall()


def test_stateless_reads_commit_after_the_sink_and_a_rerun_starts_after_them(kafka_broker, topic):
    create_topic(kafka_broker, topic, 2)
    produce(kafka_broker, topic, _ticks(50, 2))
    out = topic + "-out"
    sql = (
        "CREATE STREAM big AS SELECT sym, qty FROM ticks WHERE qty >= 4 "
        f"WITH ({kafka_with('ticks', kafka_broker, topic, group_id='g-' + topic)}, "
        f"{sink_with('big', kafka_broker, out)})"
    )
    Engine().execute(sql)
    assert _committed(kafka_broker, topic, "g-" + topic, 2) == {0: 25, 1: 25}
    first = consume_all(kafka_broker, out)
    # qty = i % 5 + 1 >= 4 for i % 5 in (3, 4): 20 of the 50
    assert len(first) == 20
    produce(kafka_broker, topic, [{"value": {"sym": "X", "qty": 9, "ts": 1}, "partition": 1}])
    Engine().execute(sql)  # the same group: only the new message
    second = consume_all(kafka_broker, out)
    assert sorted(m.value for m in second) == sorted(
        [*(m.value for m in first), b'{"sym":"X","qty":9}']
    )
    assert len(second) == 21
    assert _committed(kafka_broker, topic, "g-" + topic, 2) == {0: 25, 1: 26}


def test_in_memory_aggregation_commits_only_when_its_windows_are_all_out(kafka_broker, topic):
    create_topic(kafka_broker, topic, 1)
    produce(kafka_broker, topic, _ticks(300, 1))
    group = "g-" + topic
    sql = (
        "SELECT sym, COUNT(*) AS n FROM ticks GROUP BY sym WINDOW TUMBLING(1s) "
        f"WITH ({kafka_with('ticks', kafka_broker, topic, group_id=group)}, "
        "'ticks.event.time.field' = 'ts', 'ticks.fetch.max.records' = '50')"
    )
    eng = Engine()
    rows = eng.query(sql + " LIMIT 2")  # stops early: open windows never came out
    assert len(rows) == 2
    assert _committed(kafka_broker, topic, group, 1) == {0: None}
    rows = Engine().query(sql)
    assert sum(r["n"] for r in rows) == 300
    assert _committed(kafka_broker, topic, group, 1) == {0: 300}


def test_killed_job_resumes_from_its_checkpoint_without_loss_or_double_counting(
    kafka_broker, topic, tmp_path
):
    create_topic(kafka_broker, topic, 2)
    msgs = _ticks(4000, 2)
    produce(kafka_broker, topic, msgs)
    out = topic + "-out"
    group = "g-" + topic
    sql = (
        "CREATE STREAM w AS SELECT sym, COUNT(*) AS n, SUM(qty) AS q, _window_start AS ws "
        "FROM ticks GROUP BY sym WINDOW TUMBLING(1s) EMIT FINAL "
        f"WITH ({kafka_with('ticks', kafka_broker, topic, group_id=group)}, "
        "'ticks.event.time.field' = 'ts', 'ticks.fetch.max.records' = '100', "
        "'watermark.max_out_of_orderness' = '100s', "
        f"'state.store' = 'sqlite', 'state.path' = '{tmp_path / 'w.db'}', "
        "'checkpoint.interval' = '0ms', "  # a checkpoint after every batch
        f"{sink_with('w', kafka_broker, out)})"
    )

    class Crash(Exception):
        """The process dies: no final checkpoint, no commit."""

    async def crash() -> int:
        eng = Engine()
        job = await eng.start(sql)  # the job's task has not run yet: the hook is in time
        task = eng.task_of(job.name)
        metrics_hook = job.on_batch

        def on_batch(seconds: float) -> None:  # after a batch's output, before its checkpoint
            if metrics_hook is not None:
                metrics_hook(seconds)
            if job.stats.records_in >= 1500 and job.checkpointer.count >= 3:
                raise Crash

        job.on_batch = on_batch
        try:
            await task
        except Crash:
            pass
        return job.stats.records_in

    read_before = asyncio.run(crash())
    assert 1500 <= read_before < 4000
    committed = _committed(kafka_broker, topic, group, 2)
    # the group holds at most what was read, and something: the checkpoints were committed
    assert 0 < sum(c or 0 for c in committed.values()) <= read_before, committed
    eng = Engine()
    eng.execute(sql)  # restart: resumes from the checkpoint, runs to the end
    assert eng.jobs["w"].checkpointer.restored
    rows = [orjson.loads(m.value) for m in consume_all(kafka_broker, out)]
    final: dict[tuple, tuple] = {}
    for r in rows:
        key = (r["sym"], r["ws"])
        # a window emitted before the crash and again after it carries the same values
        assert final.setdefault(key, (r["n"], r["q"])) == (r["n"], r["q"]), key
    got = sorted((s, ws, n, q) for (s, ws), (n, q) in final.items())
    assert got == _duckdb_windows(msgs)
    assert _committed(kafka_broker, topic, group, 2) == {0: 2000, 1: 2000}
