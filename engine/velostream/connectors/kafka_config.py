"""Kafka connector keys (Velostream's names) and their translation to aiokafka arguments.

Source (`'<name>.type' = 'kafka_source'`): `topic` (default: the source name), `bootstrap.servers`
(default `$VELOSTREAM_KAFKA_BROKERS`, else `localhost:9092`), `group.id`, `auto.offset.reset`
(`earliest` | `latest` | a timestamp: epoch ms or ISO 8601), `end` (`latest-at-start` or
`partition:offset,...`: a bounded read), `format` (json default), `key.field`, `on.error` (skip |
fail | dead_letter with `dead.letter.topic` or `dead.letter.path`), `fetch.max.records`,
`fetch.max.wait.ms`, `isolation.level` (`read_uncommitted` | `read_committed`), `partitions` (a
subset to read), `repartition`, security keys.

Sink (`'<name>.type' = 'kafka_sink'`): `topic` (default: the sink name), `bootstrap.servers`,
`format`, `key.field`, `acks` (`0` | `1` | `all`), `compression.type` (`none` | `gzip` | `snappy`
| `lz4` | `zstd`), `linger.ms`, `batch.size`, `transactional`, `transactional.id`, security keys.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

from velostream.connectors.base import PropSpec

DEFAULT_BROKERS = "localhost:9092"


SECURITY_PROPS: tuple[PropSpec, ...] = (
    PropSpec(
        "security.protocol",
        default="PLAINTEXT",
        choices=("plaintext", "ssl", "sasl_plaintext", "sasl_ssl"),
        help="PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL",
    ),
    PropSpec(
        "sasl.mechanism",
        choices=("plain", "scram-sha-256", "scram-sha-512", "gssapi", "oauthbearer"),
        help="SASL mechanism (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, ...)",
    ),
    PropSpec("sasl.mechanisms", help="alias of sasl.mechanism (librdkafka's spelling)"),
    PropSpec("sasl.username", help="SASL user name"),
    PropSpec("sasl.password", help="SASL password"),
    PropSpec("ssl.ca.location", help="CA certificate file (PEM)"),
    PropSpec("ssl.certificate.location", help="client certificate file (PEM)"),
    PropSpec("ssl.key.location", help="client private key file (PEM)"),
    PropSpec("ssl.key.password", help="password of the client key"),
    PropSpec(
        "ssl.endpoint.identification.algorithm",
        help="'https' (default) checks the broker's host name, 'none' does not",
    ),
)

COMMON_PROPS: tuple[PropSpec, ...] = (
    PropSpec("topic", help="the topic (default: the source or sink name)"),
    PropSpec("topic.name", help="alias of topic"),
    PropSpec(
        "bootstrap.servers",
        help="host:port,... (default $VELOSTREAM_KAFKA_BROKERS, else localhost:9092)",
    ),
    PropSpec("brokers", help="alias of bootstrap.servers"),
    PropSpec(
        "format",
        default="json",
        choices=("json", "avro", "protobuf"),
        help="json, avro or protobuf",
    ),
    PropSpec("client.id", help="client id the broker sees"),
    *SECURITY_PROPS,
)

SOURCE_PROPS: tuple[PropSpec, ...] = (
    *COMMON_PROPS,
    PropSpec(
        "group.id",
        help="consumer group (default velo-<job>-<source>); several instances of a job share it",
    ),
    PropSpec(
        "auto.offset.reset",
        default="latest",
        help="where to start without a committed offset: earliest, latest, or a timestamp "
        "(epoch ms or ISO 8601)",
    ),
    PropSpec(
        "end",
        help="bounded read: latest-at-start, or partition:offset,... (exclusive end offsets)",
    ),
    PropSpec("key.field", help="a column that receives the message key (text)"),
    PropSpec("dead.letter.topic", help="topic for malformed messages (on.error = dead_letter)"),
    PropSpec("fetch.max.records", default="10000", help="most messages per fetch"),
    PropSpec("fetch.max.wait.ms", default="20", help="longest wait for a fetch to fill"),
    PropSpec(
        "isolation.level",
        default="read_uncommitted",
        choices=("read_uncommitted", "read_committed"),
        help="read_committed: only messages of committed transactions",
    ),
    PropSpec("partitions", help="read only these partitions, e.g. '0,2' (no consumer group)"),
    PropSpec(
        "enable.auto.commit",
        default="true",
        choices=("true", "false"),
        help="commit processed offsets to the group (after the sinks have the output)",
    ),
    PropSpec("auto.commit.interval.ms", default="1000", help="time between offset commits"),
    PropSpec("session.timeout.ms", default="10000", help="consumer group session timeout"),
    PropSpec("heartbeat.interval.ms", default="1000", help="consumer group heartbeat"),
    PropSpec(
        "repartition",
        default="auto",
        choices=("auto", "true", "false"),
        help="GROUP BY on a non-key column in a consumer group goes through <job>-repartition",
    ),
    PropSpec("repartition.topic", help="name of the repartition topic (default <job>-repartition)"),
)

SINK_PROPS: tuple[PropSpec, ...] = (
    PropSpec("type", required=True, help="connector type"),
    *COMMON_PROPS,
    PropSpec("key.field", help="the column whose value is the message key"),
    PropSpec("acks", default="1", choices=("0", "1", "all", "-1"), help="0, 1 or all"),
    PropSpec(
        "compression.type",
        default="none",
        choices=("none", "gzip", "snappy", "lz4", "zstd"),
        help="none, gzip, snappy, lz4 or zstd",
    ),
    PropSpec("linger.ms", default="5", help="how long the producer waits to fill a batch"),
    PropSpec("batch.size", default="262144", help="largest producer batch in bytes"),
    PropSpec("partitions", help="number of partitions when the sink creates its topic"),
    PropSpec(
        "transactional",
        default="false",
        choices=("true", "false"),
        help="exactly-once: output and source offsets in one Kafka transaction",
    ),
    PropSpec("transactional.id", help="transactional id (default velo-<job>-<sink>)"),
    PropSpec("transaction.timeout.ms", default="30000", help="longest wait for a transaction step"),
    PropSpec("enable.idempotence", choices=("true", "false"), help="idempotent producer"),
)


def topic_of(name: str, props: dict[str, str]) -> str:
    """The topic a source or sink reads or writes (default: its name)."""
    return props.get("topic") or props.get("topic.name") or name


def brokers_of(props: dict[str, str]) -> str:
    """bootstrap.servers, else $VELOSTREAM_KAFKA_BROKERS, else localhost:9092."""
    return (
        props.get("bootstrap.servers")
        or props.get("brokers")
        or os.environ.get("VELOSTREAM_KAFKA_BROKERS")
        or DEFAULT_BROKERS
    )


def parse_reset(value: str) -> str | int:
    """auto.offset.reset: 'earliest', 'latest' or a timestamp in epoch milliseconds."""
    v = value.strip().lower()
    if v in ("earliest", "latest", "smallest", "largest"):
        return {"smallest": "earliest", "largest": "latest"}.get(v, v)
    if v.lstrip("-").isdigit():
        return int(v)
    try:
        dt = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"expected earliest, latest or a timestamp (epoch ms or ISO 8601), got {value!r}"
        ) from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return int(dt.timestamp() * 1000)


def parse_end(value: str) -> str | dict[int, int]:
    """end: 'latest-at-start' or 'partition:offset,...' (exclusive end offsets)."""
    v = value.strip().lower()
    if v in ("latest-at-start", "latest_at_start", "latest"):
        return "latest-at-start"
    out: dict[int, int] = {}
    for part in v.split(","):
        p, colon, o = part.strip().partition(":")
        if not colon or not p.strip().isdigit() or not o.strip().isdigit():
            raise ValueError(
                f"expected latest-at-start or partition:offset,... (e.g. '0:100,1:250'), "
                f"got {value!r}"
            )
        out[int(p)] = int(o)
    return out


def parse_partitions(value: str) -> list[int]:
    """partitions: '0,2,3'."""
    try:
        parts = [int(p) for p in value.split(",") if p.strip()]
    except ValueError:
        raise ValueError(f"expected partition numbers like '0,2', got {value!r}") from None
    if not parts or min(parts) < 0:
        raise ValueError(f"expected partition numbers like '0,2', got {value!r}")
    return parts


def check_value(key: str, value: str) -> None:
    """Raise ValueError when a Kafka key's value has the wrong shape."""
    if key == "auto.offset.reset":
        parse_reset(value)
    elif key == "end":
        parse_end(value)
    elif key == "partitions":
        if value.strip().isdigit():
            if int(value) < 1:
                raise ValueError(f"must be at least 1, got {value}")
        else:
            parse_partitions(value)
    elif key in (
        "fetch.max.records",
        "fetch.max.wait.ms",
        "linger.ms",
        "batch.size",
        "auto.commit.interval.ms",
        "session.timeout.ms",
        "heartbeat.interval.ms",
        "transaction.timeout.ms",
    ):
        n = int(value)
        if n < 0 or (key in ("fetch.max.records", "batch.size") and n < 1):
            raise ValueError(f"must be a positive integer, got {value}")
    elif key in ("bootstrap.servers", "brokers"):
        for hp in value.split(","):
            host, colon, port = hp.strip().rpartition(":")
            if not colon or not host or not port.isdigit():
                raise ValueError(f"expected host:port[,host:port...], got {value!r}")


def security_kwargs(props: dict[str, str]) -> dict[str, Any]:
    """aiokafka arguments for the SASL/SSL keys (passed through)."""
    out: dict[str, Any] = {}
    proto = props.get("security.protocol", "PLAINTEXT").upper()
    out["security_protocol"] = proto
    mech = props.get("sasl.mechanism") or props.get("sasl.mechanisms")
    if mech:
        out["sasl_mechanism"] = mech.upper()
    if props.get("sasl.username") is not None:
        out["sasl_plain_username"] = props["sasl.username"]
    if props.get("sasl.password") is not None:
        out["sasl_plain_password"] = props["sasl.password"]
    if proto in ("SSL", "SASL_SSL"):
        from aiokafka.helpers import create_ssl_context

        ctx = create_ssl_context(
            cafile=props.get("ssl.ca.location"),
            certfile=props.get("ssl.certificate.location"),
            keyfile=props.get("ssl.key.location"),
            password=props.get("ssl.key.password"),
        )
        if props.get("ssl.endpoint.identification.algorithm", "https").lower() in ("none", ""):
            ctx.check_hostname = False
        out["ssl_context"] = ctx
    return out


def confluent_config(props: dict[str, str]) -> dict[str, Any]:
    """librdkafka (confluent-kafka) settings for the same keys."""
    conf: dict[str, Any] = {"bootstrap.servers": brokers_of(props)}
    for key in SECURITY_PROPS:
        k = key.name
        if k in props and k != "sasl.mechanism":
            conf[k] = props[k]
    if props.get("sasl.mechanism"):
        conf["sasl.mechanisms"] = props["sasl.mechanism"].upper()
    if props.get("client.id"):
        conf["client.id"] = props["client.id"]
    return conf
