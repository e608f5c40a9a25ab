-- @app: market_agg
-- @description: per-symbol trade statistics in one-minute windows, from Kafka
-- @metric: velo_market_windows_total
-- @metric_type: counter
-- @metric_help: "One-minute windows emitted per symbol"
-- @metric_labels: symbol
--
-- @metric: velo_market_window_volume
-- @metric_type: gauge
-- @metric_field: total_volume
-- @metric_labels: symbol
CREATE STREAM market_aggregates AS
SELECT symbol,
       COUNT(*)      AS trade_count,
       SUM(volume)   AS total_volume,
       AVG(price)    AS avg_price,
       MIN(price)    AS min_price,
       MAX(price)    AS max_price,
       _window_start AS window_start,
       _window_end   AS window_end
FROM market_data
GROUP BY symbol
WINDOW TUMBLING(1m)
EMIT FINAL
WITH ('market_data.type' = 'kafka_source', 'market_data.topic' = 'market_data',
      'market_data.format' = 'json', 'market_data.event.time.field' = 'event_time',
      'watermark.max_out_of_orderness' = '5s',
      'market_aggregates.type' = 'kafka_sink', 'market_aggregates.topic' = 'market_aggregates');
