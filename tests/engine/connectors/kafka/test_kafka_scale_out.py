"""Scale-out: two instances of one job share a consumer group and split a 4-partition topic;
their GROUP BY on a column that is not the message key goes through the repartition topic,
so each region's state lives in one instance and the union of their outputs equals the
output of one instance reading everything."""

from __future__ import annotations

import asyncio
import random
from collections import Counter

from kafka_helpers import kafka_with
from services.kafka import create_topic_async, produce_async

from velostream import Engine

REGIONS = [f"r{i}" for i in range(8)]


def _orders(n: int) -> list[dict]:
    rnd = random.Random(7)
    return [
        {
            "value": {"region": rnd.choice(REGIONS), "amount": rnd.randrange(1, 100)},
            "key": f"cust{rnd.randrange(50)}",  # keyed by customer, grouped by region
            "partition": i % 4,
        }
        for i in range(n)
    ]


def test_two_instances_split_the_partitions_and_repartition_by_the_group_key(kafka_broker, topic):
    n = 400
    orders = _orders(n)
    query = "CREATE STREAM per_region AS SELECT region, COUNT(*) AS n, SUM(amount) AS total "
    query += "FROM orders GROUP BY region EMIT CHANGES WITH ({props})"
    live = (
        f"'orders.type' = 'kafka_source', 'orders.topic' = '{topic}', "
        f"'orders.bootstrap.servers' = '{kafka_broker}', 'orders.auto.offset.reset' = 'earliest', "
        "'orders.session.timeout.ms' = '6000', 'orders.heartbeat.interval.ms' = '300', "
        f"'orders.repartition.topic' = '{topic}-repartition'"
    )

    async def scaled_out() -> tuple[list[list[dict]], list]:
        await create_topic_async(kafka_broker, topic, 4)
        outs: list[list[dict]] = [[], []]
        engines = [Engine(), Engine()]
        jobs = []
        for i, eng in enumerate(engines):  # started together: one group generation for both
            jobs.append(await eng.start(query.format(props=live), on_rows=outs[i].extend))
        sources = [j.sources[0] for j in jobs]
        for _ in range(400):  # both members assigned (Tansu takes a few seconds)
            owned = [s.consumer.assignment() if s.consumer else set() for s in sources]
            if all(owned) and sum(len(o) for o in owned) == 8:
                break
            await asyncio.sleep(0.05)
        assignments = [
            sorted((tp.topic, tp.partition) for tp in s.consumer.assignment()) for s in sources
        ]
        await produce_async(kafka_broker, topic, orders)
        for _ in range(600):
            if sum(map(len, outs)) >= n:
                break
            await asyncio.sleep(0.05)
        for j in jobs:
            j.stop()
        for eng, j in zip(engines, jobs, strict=True):
            await eng.task_of(j.name)
        return outs, assignments

    outs, assignments = asyncio.run(scaled_out())
    # the group split both topics between the two instances
    assert all(assignments) and sum(map(len, assignments)) == 8, assignments
    assert set(assignments[0]).isdisjoint(assignments[1])
    # each region's rows come from one instance only
    regions = [{r["region"] for r in out} for out in outs]
    assert regions[0].isdisjoint(regions[1]) and regions[0] | regions[1] == set(REGIONS)

    one = Engine().query(
        "SELECT region, COUNT(*) AS n, SUM(amount) AS total FROM orders GROUP BY region "
        f"EMIT CHANGES WITH ({kafka_with('orders', kafka_broker, topic)})"
    )
    union = outs[0] + outs[1]
    assert Counter((r["region"], r["n"]) for r in union) == Counter(
        (r["region"], r["n"]) for r in one
    )
    final = {}
    for r in union:
        if r["n"] > final.get(r["region"], (0, 0))[0]:
            final[r["region"]] = (r["n"], r["total"])
    by_hand = Counter()
    for o in orders:
        by_hand[o["value"]["region"]] += o["value"]["amount"]
    assert {k: t for k, (_, t) in final.items()} == dict(by_hand)


def _repartition_topic(sql: str) -> str | None:
    from velostream.sql.parse import parse_script

    eng = Engine()
    job = eng.build_job(parse_script(sql).statements[0])
    src = job.sources[0]
    src.bind_job(job)
    return src.rp_topic


def test_only_a_group_by_off_the_message_key_in_a_group_is_repartitioned():
    base = "CREATE STREAM j AS SELECT region, COUNT(*) AS n FROM o GROUP BY {g} WITH ({p})"
    live = "'o.type' = 'kafka_source', 'o.topic' = 't'"
    assert _repartition_topic(base.format(g="region", p=live)) == "j-repartition"
    assert (
        _repartition_topic(base.format(g="region", p=live + ", 'o.key.field' = 'region'")) is None
    )
    assert (
        _repartition_topic(base.format(g="region", p=live + ", 'o.repartition' = 'false'")) is None
    )
    bounded = live + ", 'o.end' = 'latest-at-start'"  # one reader of every partition
    assert _repartition_topic(base.format(g="region", p=bounded)) is None
    named = live + ", 'o.repartition.topic' = 'by-region'"
    assert _repartition_topic(base.format(g="region", p=named)) == "by-region"
