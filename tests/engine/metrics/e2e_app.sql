-- @metric: velo_e2e_windows_total
-- @metric_type: counter
-- @metric_help: "Windows closed per symbol"
-- @metric_labels: symbol
--
-- @metric: velo_e2e_volume
-- @metric_type: gauge
-- @metric_field: volume
-- @metric_labels: symbol
--
-- @metric: velo_e2e_avg_price
-- @metric_type: histogram
-- @metric_field: avg_price
-- @metric_labels: symbol
-- @metric_buckets: 100, 200, 300, 400, 500
CREATE STREAM e2e_stats AS
SELECT symbol, COUNT(*) AS trades, SUM(quantity) AS volume, AVG(price) AS avg_price,
       _window_start AS window_start
FROM trades
GROUP BY symbol
WINDOW TUMBLING(INTERVAL '1' SECOND)
EMIT FINAL
WITH ('trades.type' = 'synthetic',
      'trades.schema' = 'symbol STRING ENUM(AAPL,MSFT,GOOG), price DECIMAL(10,2) RANGE(100,500) WALK, quantity BIGINT RANGE(1,1000), ts TIMESTAMP',
      'trades.rate' = '300',
      'trades.event.time.field' = 'ts',
      'e2e_stats.type' = 'file_sink', 'e2e_stats.path' = 'stats.jsonl');

-- @metric: velo_e2e_big_trades_total
-- @metric_labels: symbol, side
-- @metric_condition: quantity > 500 AND side IN ('BUY', 'SELL')
-- @metric_sample_rate: 0.5
CREATE STREAM e2e_big AS
SELECT symbol, side, quantity, price FROM orders
WITH ('orders.type' = 'synthetic',
      'orders.schema' = 'symbol STRING ENUM(AAPL,MSFT), side STRING ENUM(BUY,SELL,HOLD), quantity BIGINT RANGE(1,1000), ts TIMESTAMP',
      'orders.rate' = '100',
      'orders.event.time.field' = 'ts',
      'e2e_big.type' = 'file_sink', 'e2e_big.path' = 'big.jsonl');
