"""Quix Streams 3.28 runner, broker-free (reference/streaming.md 3.2 recipe).

Quix has no runner without Kafka, so the StreamingDataFrame is built the way the library's own
unit tests build it (mocked producer/consumer/admin, a real RocksDB state store, an assigned
partition) and each record is pushed through `sdf.compose()`, as `Application.run()` would.
Run with the peers venv: bench/.venv-peers/bin/python bench/qs_runner.py --query q1
"""

from __future__ import annotations

import tempfile
from contextvars import copy_context
from unittest.mock import MagicMock

import _common
import quixstreams.dataframe.windows.aggregations as agg
from data import events
from quixstreams.context import set_message_context
from quixstreams.dataframe.dataframe import StreamingDataFrame
from quixstreams.dataframe.registry import DataFrameRegistry
from quixstreams.internal_consumer import InternalConsumer
from quixstreams.internal_producer import InternalProducer
from quixstreams.models import MessageContext
from quixstreams.models.topics import TopicAdmin, TopicConfig, TopicManager
from quixstreams.processing import ProcessingContext
from quixstreams.sinks import SinkManager
from quixstreams.state import StateStoreManager

COMMIT_EVERY = 10_000  # flush the state write batch, as the app does on each commit


def _context() -> tuple[StreamingDataFrame, ProcessingContext, StateStoreManager]:
    tm = TopicManager(topic_admin=MagicMock(spec=TopicAdmin), consumer_group="bench")
    topic = tm.topic("ev", value_deserializer="json")
    topic.broker_config = TopicConfig(
        num_partitions=1,
        replication_factor=1,
        extra_config={"retention.ms": "-1", "retention.bytes": "-1"},
    )
    sm = StateStoreManager(group_id="bench", state_dir=tempfile.mkdtemp(), producer=None)
    reg = DataFrameRegistry()
    producer = MagicMock(spec_set=InternalProducer)
    producer.flush.return_value = 0
    producer.offsets = {}
    ctx = ProcessingContext(
        producer=producer,
        consumer=MagicMock(spec_set=InternalConsumer),
        commit_interval=0,
        state_manager=sm,
        sink_manager=SinkManager(),
        dataframe_registry=reg,
    )
    ctx.init_checkpoint()
    sdf = StreamingDataFrame(topic, topic_manager=tm, registry=reg, processing_context=ctx)
    reg.register_root(sdf)
    return sdf, ctx, sm


def build(query: str, sdf: StreamingDataFrame) -> StreamingDataFrame:
    """The pipeline for one query."""
    if query == "q1":
        return (
            sdf.tumbling_window(duration_ms=1000)
            .agg(n=agg.Count(), s=agg.Sum("value"), a=agg.Mean("value"))
            .final()
        )
    if query == "q2":
        kept = sdf[sdf["value"] >= 5]
        return kept.apply(lambda r: {"key": r["key"], "ts": r["ts"], "v2": r["value"] * 2})
    return sdf.hopping_window(duration_ms=2000, step_ms=1000).count().final()


def check(query: str, out: list) -> dict:
    """Window-group counts and event totals from the output values."""
    if query == "q1":
        return {
            "groups": len(out),
            "count": sum(r["n"] for r in out),
            "sum": sum(r["s"] for r in out),
        }
    if query == "q2":
        return {"rows": len(out), "sum_v2": sum(r["v2"] for r in out)}
    return {"groups": len(out), "count": sum(r["value"] for r in out)}


def main() -> None:
    """Time one query over the workload and print its JSON line."""
    args = _common.parse_args(__doc__)
    sdf, ctx, sm = _context()
    pipeline = build(args.query, sdf)
    if args.query != "q2":
        sm.on_partition_assign(
            stream_id=pipeline.stream_id, partition=0, committed_offsets={"ev": -1001}
        )
    out: list = []
    run = pipeline.compose(sink=lambda v, k, t, h: out.append(v))["ev"]
    mctx = MessageContext(topic="ev", partition=0, offset=0, size=0)
    ev = [({"key": k, "ts": ts, "value": v}, k.encode(), ts) for k, ts, v in events(args.events)]
    with _common.Stopwatch() as sw:
        for i, (value, key, ts) in enumerate(ev):
            c = copy_context()
            c.run(set_message_context, mctx)
            c.run(run, value, key, ts, None)
            if i % COMMIT_EVERY == COMMIT_EVERY - 1:
                ctx.commit_checkpoint(force=True)
        ctx.commit_checkpoint(force=True)
    res = check(args.query, out)
    _common.emit("quixstreams", args.query, args.events, sw.wall, res, sw.cpu)


if __name__ == "__main__":
    main()
