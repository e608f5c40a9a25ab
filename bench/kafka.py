"""Kafka end to end: events/s from the broker through a 1 s tumbling aggregation into a sink
topic, next to aiokafka's raw consume rate on the same broker (the ceiling).

    .venv/bin/python bench/kafka.py                 # 1M messages, a Tansu broker of its own
    .venv/bin/python bench/kafka.py --events 200000 --partitions 4
    .venv/bin/python bench/kafka.py --bootstrap 127.0.0.1:9092   # an existing broker

The workload is data.py's (key k0..k99 with seed 42, ts = i ms, value = i % 10) with the
decimal-string price, as JSON values of about 100 bytes; the message timestamp is ts, so event
time needs no configuration. Two ceilings: aiokafka's own consume path (a ConsumerRecord per
message), and kafka_source's fetch path alone (whole record batches, the GC paused). An untimed
run over 1,000 other messages comes first (the engine's imports and first uses stay out of the
clock). The engine process runs pinned to one core (POLARS_MAX_THREADS=1), the broker to the
other. Prints one JSON line per measurement, then the ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("POLARS_MAX_THREADS", "1")  # one core: before polars is imported

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))  # the broker starter (tests/services/kafka.py)

import data  # noqa: E402

SQL = (
    "CREATE STREAM agg AS SELECT key, COUNT(*) AS n, SUM(value) AS s, AVG(value) AS a, "
    "_window_start AS ws FROM events GROUP BY key WINDOW TUMBLING(1s) EMIT FINAL "
    "WITH ('events.type' = 'kafka_source', 'events.topic' = '{topic}', "
    "'events.bootstrap.servers' = '{bs}', 'events.auto.offset.reset' = 'earliest', "
    "'events.end' = 'latest-at-start', 'events.fetch.max.records' = '{fetch}', "
    "'watermark.max_out_of_orderness' = '{lateness}', "
    "'agg.type' = 'kafka_sink', 'agg.topic' = '{out}', 'agg.bootstrap.servers' = '{bs}')"
)


def values(n: int) -> list[bytes]:
    """The JSON message values (about 100 bytes each) and nothing else."""
    import orjson

    pad = "x" * 38
    return [
        orjson.dumps({"key": k, "ts": ts, "value": v, "price": data.price(ts), "note": pad})
        for k, ts, v in data.events(n)
    ]


async def produce(bs: str, topic: str, vals: list[bytes], partitions: int) -> float:
    """Produce every value (timestamp = its index in ms); returns seconds taken."""
    from aiokafka import AIOKafkaProducer

    from velostream.connectors.kafka_sink import ensure_topic

    await ensure_topic(bs, topic, partitions, {})
    producer = AIOKafkaProducer(bootstrap_servers=bs, linger_ms=5, max_batch_size=1 << 20)
    await producer.start()
    t0 = time.perf_counter()
    try:
        futures = []
        chunk = 5000
        for start in range(0, len(vals), chunk):
            p = (start // chunk) % partitions  # contiguous runs per partition keep ts ordered
            batch = producer.create_batch()
            for i in range(start, min(start + chunk, len(vals))):
                if batch.append(key=None, value=vals[i], timestamp=i) is None:
                    batch.close()
                    futures.append(await producer.send_batch(batch, topic, partition=p))
                    batch = producer.create_batch()
                    batch.append(key=None, value=vals[i], timestamp=i)
            batch.close()
            futures.append(await producer.send_batch(batch, topic, partition=p))
        await asyncio.gather(*futures)
    finally:
        await producer.stop()
    return time.perf_counter() - t0


async def raw_consume(
    bs: str, topic: str, n: int, fetch: int, batches: bool = False
) -> tuple[float, float, int]:
    """aiokafka alone: getmany until n messages arrived. Plain: aiokafka's own path (a
    ConsumerRecord per message, the cyclic GC on). `batches`: kafka_source's fetch path
    (whole record batches, the GC paused, values and timestamps taken out), nothing else."""
    import gc
    import operator

    from aiokafka import AIOKafkaConsumer, TopicPartition

    from velostream.connectors.kafka_source import install_raw_batches, raw_records

    kwargs = {}
    if batches:
        install_raw_batches()
        kwargs = {"value_deserializer": raw_records, "check_crcs": False}
    c = AIOKafkaConsumer(
        bootstrap_servers=bs,
        enable_auto_commit=False,
        fetch_max_wait_ms=20,
        max_partition_fetch_bytes=4 << 20,
        fetch_max_bytes=64 << 20,
        **kwargs,
    )
    await c.start()
    value, ts = operator.attrgetter("value"), operator.attrgetter("timestamp")
    try:
        parts = sorted(c.partitions_for_topic(topic) or [])
        tps = [TopicPartition(topic, p) for p in parts]
        c.assign(tps)
        await c.seek_to_beginning(*tps)
        got = 0
        cpu0, t0 = time.process_time(), time.perf_counter()
        while got < n:
            if batches:
                gc.disable()
                try:
                    batch = await c.getmany(timeout_ms=1000, max_records=256)
                    for recs in batch.values():
                        for b in recs:
                            got += len(list(map(value, b)))
                            list(map(ts, b))
                    del batch, recs
                finally:
                    gc.enable()
            else:
                batch = await c.getmany(timeout_ms=1000, max_records=fetch)
                for msgs in batch.values():
                    got += len(msgs)
        return time.perf_counter() - t0, time.process_time() - cpu0, got
    finally:
        await c.stop()


def end_to_end(bs: str, topic: str, out: str, fetch: int, lateness: str) -> tuple[float, float]:
    """The query over the whole topic into the sink topic; (wall, cpu) seconds."""
    from velostream import Engine

    sql = SQL.format(topic=topic, bs=bs, out=out, fetch=fetch, lateness=lateness)
    eng = Engine()
    cpu0, t0 = time.process_time(), time.perf_counter()
    eng.execute(sql)
    return time.perf_counter() - t0, time.process_time() - cpu0


def warm_up(bs: str, fetch: int, lateness: str) -> None:
    """The same query over 1,000 messages of another topic, untimed: the engine's lazy
    imports and first uses (Polars' readers, aiokafka's producer) stay out of the clock."""
    topic = f"bench-warm-up-{time.time_ns()}"
    asyncio.run(produce(bs, topic, values(1000), 1))
    end_to_end(bs, topic, topic + "-out", fetch, lateness)


async def check(bs: str, out: str, n: int) -> dict[str, object]:
    """The sink topic's rows against data.expected(n) (worked out from the tuples)."""
    import orjson
    from services.kafka import consume_all_async

    msgs = await consume_all_async(bs, out)
    rows = [orjson.loads(m.value) for m in msgs]
    want = data.expected(n)["q1"]
    got = {
        "groups": len(rows),
        "count": sum(r["n"] for r in rows),
        "sum": sum(r["s"] for r in rows),
    }
    ok = all(got[k] == want[k] for k in got if k in want)
    return {"ok": ok, "got": got, "want": want}


def rates(what: str, events: int, wall: float, cpu: float) -> dict:
    """One measurement's JSON line: events per wall-clock and per CPU second."""
    return {
        "what": what,
        "events": events,
        "seconds": round(wall, 3),
        "events_per_s": round(events / wall),
        "events_per_cpu_s": round(events / cpu),
    }


def main() -> None:
    """Run the benchmark and print JSON lines and the ratios."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--events", type=int, default=data.N_EVENTS)
    ap.add_argument("--partitions", type=int, default=1)
    ap.add_argument("--fetch", type=int, default=20000, help="fetch.max.records")
    ap.add_argument("--bootstrap", help="use this broker instead of starting Tansu")
    ap.add_argument("--no-pin", action="store_true", help="do not pin to cores")
    args = ap.parse_args()
    n = args.events
    lateness = "0ms" if args.partitions == 1 else "1h"  # partitions are read side by side

    def run(bs: str) -> None:
        topic, out = f"bench-in-{n}", f"bench-out-{n}-{time.time_ns()}"
        vals = values(n)
        mean = sum(map(len, vals)) / n
        secs = asyncio.run(produce(bs, topic, vals, args.partitions))
        del vals
        report = [
            {
                "what": "produce (aiokafka, batched)",
                "events": n,
                "seconds": round(secs, 3),
                "events_per_s": round(n / secs),
                "value_bytes": round(mean, 1),
            }
        ]
        wall, cpu, got = asyncio.run(raw_consume(bs, topic, n, args.fetch))
        report.append(rates("raw consume (aiokafka getmany)", got, wall, cpu))
        wall, cpu, got = asyncio.run(raw_consume(bs, topic, n, args.fetch, batches=True))
        what = "raw batches (aiokafka, kafka_source's fetch path, GC paused)"
        report.append(rates(what, got, wall, cpu))
        warm_up(bs, args.fetch, lateness)
        wall, cpu = end_to_end(bs, topic, out, args.fetch, lateness)
        chk = asyncio.run(check(bs, out, n))
        what = "velostream: kafka -> TUMBLING(1s) aggregate -> kafka"
        report.append({**rates(what, n, wall, cpu), "check": chk})
        for line in report:
            print(json.dumps(line))
        raw, fast, e2e = report[1], report[2], report[3]

        def met(rate: int) -> str:
            return "met" if rate >= 300_000 else "missed"

        print(
            f"\nend to end {e2e['events_per_s']:,} events/s, "
            f"{e2e['events_per_cpu_s']:,} per CPU second; raw consume (aiokafka) "
            f"{raw['events_per_s']:,} events/s, {raw['events_per_cpu_s']:,} per CPU second: "
            f"{e2e['events_per_s'] / raw['events_per_s']:.2f}x wall, "
            f"{e2e['events_per_cpu_s'] / raw['events_per_cpu_s']:.2f}x per CPU second; raw "
            f"batches {fast['events_per_cpu_s']:,} per CPU second "
            f"({e2e['events_per_cpu_s'] / fast['events_per_cpu_s']:.2f}x). Target 300,000 "
            f"events/s: {met(e2e['events_per_s'])} on the wall clock, "
            f"{met(e2e['events_per_cpu_s'])} per CPU second; check "
            f"{'ok' if chk['ok'] else 'FAILED'}"
        )

    if not args.no_pin and hasattr(os, "sched_setaffinity") and os.cpu_count() > 1:
        os.sched_setaffinity(0, {0})
    if args.bootstrap:
        run(args.bootstrap)
        return
    from services.kafka import kafka_broker_process

    with kafka_broker_process() as bs:
        if not args.no_pin and hasattr(os, "sched_setaffinity") and os.cpu_count() > 1:
            _pin_broker(int(bs.rsplit(":", 1)[1]))
        run(bs)


def _pin_broker(port: int) -> None:
    """Move the broker we started (the child listening on `port`) to core 1."""
    import subprocess

    for pid in subprocess.run(
        ["pgrep", "-P", str(os.getpid())], capture_output=True, text=True
    ).stdout.split():
        try:
            os.sched_setaffinity(int(pid), {1})
        except OSError:
            pass


if __name__ == "__main__":
    main()
