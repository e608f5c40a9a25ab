"""Velostream dialect examples for round-trip and robustness tests.

Taken from ../shared/reference/velostream.md (sections 1-3) and ../shared/ARCHITECTURE.md, with a
few lines completed where the source elides them (``WITH (…)``).
"""

CORPUS = [
    # ARCHITECTURE.md, "The SQL dialect"
    """CREATE STREAM trade_stats AS
SELECT symbol, COUNT(*) AS trades, SUM(price * qty) AS notional,
       _window_start AS window_start, _window_end AS window_end
FROM trades
WHERE qty > 0
GROUP BY symbol
WINDOW TUMBLING(INTERVAL '1' MINUTE)
EMIT FINAL
WITH ('trades.type' = 'kafka_source', 'trades.topic' = 'trades', 'trades.format' = 'json',
      'trades.event.time.field' = 'ts',
      'trade_stats.type' = 'file_sink', 'trade_stats.path' = 'out/stats.jsonl')""",
    # velostream.md 1.3
    """CREATE STREAM filtered_orders AS
SELECT order_id, customer_id, amount FROM orders WHERE amount > 100
WITH ('orders.type' = 'kafka_source', 'orders.topic' = 'orders_input', 'orders.format' = 'json',
      'filtered_orders.type' = 'kafka_sink', 'filtered_orders.topic' = 'filtered_orders_output',
      'filtered_orders.format' = 'json')""",
    # velostream.md 1.4 (a): every window form
    "SELECT COUNT(*) FROM t WINDOW TUMBLING(INTERVAL '5' MINUTE)",
    "SELECT COUNT(*) FROM t WINDOW TUMBLING(5m)",
    "SELECT COUNT(*) FROM t WINDOW TUMBLING(500ms)",
    "SELECT COUNT(*) FROM t WINDOW TUMBLING(event_time, INTERVAL '1' SECOND)",
    "SELECT COUNT(*) FROM t WINDOW TUMBLING(_event_time, INTERVAL '1' SECOND)",
    "SELECT COUNT(*) FROM t WINDOW SLIDING(INTERVAL '10' MINUTE, INTERVAL '2' MINUTE)",
    "SELECT COUNT(*) FROM t WINDOW SLIDING(_event_time, 5m, 1m)",
    "SELECT COUNT(*) FROM t WINDOW SESSION(INTERVAL '30' SECOND)",
    "SELECT COUNT(*) FROM t WINDOW SESSION(30s)",
    "SELECT COUNT(*) FROM t WINDOW SESSION(time_col, 30s, partition_key)",
    "SELECT COUNT(*) FROM t WINDOW HOPPING(ts, 1h, 10m)",
    "SELECT COUNT(*) FROM t WINDOW TUMBLING (SIZE 1 MINUTE)",
    "SELECT COUNT(*) FROM t WINDOW HOPPING (SIZE 1 MINUTE, ADVANCE BY 10 SECONDS)",
    "SELECT symbol, COUNT(*) FROM t GROUP BY symbol, TUMBLE(event_time, INTERVAL '1' HOUR)",
    # velostream.md 1.4 (b): row windows
    """SELECT AVG(price) OVER (ROWS WINDOW BUFFER 100 ROWS PARTITION BY symbol ORDER BY event_time)
FROM trades""",
    """SELECT AVG(price) OVER (ROWS WINDOW BUFFER 100 ROWS PARTITION BY symbol ORDER BY event_time
ROWS BETWEEN 50 PRECEDING AND CURRENT ROW) FROM trades""",
    """SELECT SUM(x) OVER (PARTITION BY s ORDER BY t
RANGE BETWEEN INTERVAL '1' HOUR PRECEDING AND CURRENT ROW) FROM trades""",
    """SELECT AVG(price) OVER (ROWS WINDOW BUFFER 100 ROWS PARTITION BY symbol ORDER BY event_time
EMIT CHANGES EXPIRE AFTER INTERVAL '5' MINUTE INACTIVITY) FROM trades""",
    "SELECT AVG(price) OVER (ROWS WINDOW BUFFER 10 ROWS EXPIRE AFTER NEVER) FROM trades",
    "SELECT * FROM kafka://orders-topic WHERE amount > 0",
    "SELECT * FROM file:///data/customers.json WITH ('file.format' = 'json')",
    # velostream.md 1.2: select grammar
    "SELECT DISTINCT symbol FROM trades",
    "SELECT t.*, price * qty AS total, total * 0.1 AS tax, total + tax AS grand FROM trades t",
    "SELECT symbol PRIMARY KEY, region PRIMARY KEY, COUNT(*) FROM sales GROUP BY symbol, region",
    "SELECT a FROM t WHERE s ~ '^A' AND x BETWEEN 1 AND 2 AND y NOT IN (1, 2) AND z IS NOT NULL",
    "SELECT a FROM t WHERE name NOT LIKE 'x%' AND arr[0] = 1 AND -a > 2 OR NOT b",
    "SELECT a FROM t ORDER BY a DESC, b ASC LIMIT 10 EMIT CHANGES",
    'SELECT `weird col`, "Quoted" FROM `my stream` WHERE a != 1 AND b <> 2',
    # velostream.md 1.7: event time
    "SELECT trade_ts AS _EVENT_TIME, symbol FROM trades",
    "SELECT symbol, MAX(trade_ts) AS _EVENT_TIME FROM trades GROUP BY symbol",
    # velostream.md 1.8: joins
    """SELECT o.order_id, s.carrier FROM orders o JOIN shipments s ON o.order_id = s.order_id
  AND s.event_time BETWEEN o.event_time AND o.event_time + INTERVAL '24' HOUR""",
    "SELECT * FROM orders o INNER JOIN payments p ON o.order_id = p.order_id WITHIN INTERVAL '5' MINUTE",
    "SELECT * FROM orders o LEFT JOIN payments p ON o.order_id = p.order_id WITHIN 5m EMIT CHANGES",
    "SELECT * FROM o FULL OUTER JOIN p ON o.id = p.id",
    # velostream.md 1.9: group by, having, subqueries, case, casts
    "SELECT symbol, COUNT(*) AS cnt FROM t GROUP BY symbol HAVING cnt > 10",
    "SELECT COUNT(CASE WHEN status = 'active' THEN 1 END) FROM t",
    "SELECT price - (SELECT AVG(price) FROM market_averages WHERE symbol = t.symbol) FROM t",
    """SELECT a FROM t WHERE EXISTS (SELECT 1 FROM u WHERE u.id = t.id)
AND t.id IN (SELECT id FROM v) AND x > ANY (SELECT y FROM w) AND NOT EXISTS (SELECT 1 FROM z)""",
    """SELECT CAST(a AS INTEGER), CAST(a AS FLOAT), CAST(a AS STRING), CAST(a AS BOOLEAN),
CAST(a AS TIMESTAMP), CAST(a AS DATETIME), CAST(a AS DECIMAL(10, 2)), a::NUMERIC FROM t""",
    "SELECT COALESCE(a, 0), NULLIF(b, ''), EXTRACT(YEAR FROM ts), a || '-' || b FROM t",
    # velostream.md 1.10: functions
    """SELECT COUNT(DISTINCT x), SUM(DISTINCT x), STRING_AGG(x, ','), MEDIAN(x),
PERCENTILE_CONT(0.95) WITHIN GROUP (ORDER BY x), APPROX_COUNT_DISTINCT(x), STDDEV(x),
VARIANCE(x), CORR(a, b), FIRST_VALUE(x), LAST_VALUE(x), LISTAGG(x, ';'), DELTA(x) FROM t GROUP BY k""",
    """SELECT LAG(x, 1, 0) OVER (PARTITION BY k ORDER BY ts), ROW_NUMBER() OVER (ORDER BY ts),
NTILE(4) OVER (ORDER BY ts), NTH_VALUE(x, 2) OVER (ORDER BY ts) FROM t""",
    """SELECT ABS(x), ROUND(x, 2), CEIL(x), FLOOR(x), SQRT(x), POWER(x, 2), MOD(x, 3), LEAST(a, b),
UPPER(s), LOWER(s), SUBSTRING(s, 1, 2), REPLACE(s, 'a', 'b'), TRIM(s), LENGTH(s), LEFT(s, 2),
POSITION('a', s), REGEXP(s, 'a+'), REGEXP_REPLACE(s, 'a', 'b'), SPLIT_PART(s, ',', 2) FROM t""",
    """SELECT NOW(), DATE_FORMAT(ts, '%Y-%m-%d'), DATEDIFF('seconds', a, b),
TUMBLE_START(ts, INTERVAL '1' MINUTE), JSON_EXTRACT(j, '$.a.b'), JSON_VALUE(j, '$.a'),
ARRAY_LENGTH(arr), ARRAY_CONTAINS(arr, 1), HEADER('trace-id'), SET_HEADER('priority', 'high')
FROM t""",
    # velostream.md 2.3: metric examples
    """CREATE STREAM high_volume_trades AS
SELECT symbol, exchange, volume, price, event_time FROM market_data""",
    """CREATE STREAM tick_buckets AS
SELECT symbol, AVG(price) AS avg_price, SUM(volume) AS total_volume, COUNT(*) AS trade_count,
       _window_start AS window_start, _window_end AS window_end
FROM market_data_ts GROUP BY symbol WINDOW TUMBLING(event_time, INTERVAL '1' SECOND) EMIT CHANGES
WITH ('market_data_ts.type'='kafka_source','market_data_ts.topic'='market_data_ts',
      'tick_buckets.type'='kafka_sink','tick_buckets.topic'='tick_buckets_output')""",
    """CREATE STREAM volume_spikes AS
SELECT symbol, volume,
       CASE WHEN volume > avg_volume * 5 THEN 'EXTREME_SPIKE'
            WHEN volume > avg_volume * 3 THEN 'HIGH_SPIKE' ELSE 'NORMAL' END AS spike_classification
FROM volume_analysis WHERE volume > avg_volume * 3 EMIT CHANGES WITH ('volume_analysis.type' = 'x')""",
    # velostream.md 3.7
    """CREATE TABLE market_aggregates AS
SELECT symbol PRIMARY KEY, COUNT(*) AS trade_count, SUM(volume) AS total_volume,
       AVG(price) AS avg_price, MIN(price) AS min_price, MAX(price) AS max_price,
       _window_start AS window_start, _window_end AS window_end
FROM market_data GROUP BY symbol WINDOW TUMBLING(1m) EMIT CHANGES
WITH ('market_data.type'='kafka_source','market_data.topic.name'='market_data',
      'market_aggregates.type'='kafka_sink','market_aggregates.topic.name'='market_aggregates_output')""",
    # velostream.md 1.1: other statement kinds
    "CREATE STREAM s (a INT, b VARCHAR) WITH ('x' = 'y') AS SELECT a, b FROM src",
    "INSERT INTO sink SELECT a FROM src EMIT CHANGES",
    "INSERT INTO t VALUES (1, 'a'), (2, 'b')",
    "WITH recent AS (SELECT * FROM trades WHERE qty > 0) SELECT symbol FROM recent",
    "SHOW STREAMS",
    "SHOW FUNCTIONS",
    "DESCRIBE market_aggregates",
    "EXPLAIN SELECT symbol, COUNT(*) FROM t GROUP BY symbol WINDOW SESSION(30s) EMIT FINAL",
]
