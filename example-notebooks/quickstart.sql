-- Velostream Studio quickstart: a live stream of synthetic trades, aggregated into one-second
-- windows per symbol. `make run` runs it until you press Ctrl-C; `velo run --limit 20` stops
-- after 20 result rows. No Kafka needed: the `synthetic` source generates the trades.

-- @name: trade_stats
-- @description: trades, notional and average price per symbol and second
SELECT symbol,
       COUNT(*)              AS trades,
       SUM(quantity)         AS volume,
       SUM(price * quantity) AS notional,
       ROUND(AVG(price), 2)  AS avg_price,
       _window_start         AS window_start,
       _window_end           AS window_end
FROM trades
WHERE quantity > 0
GROUP BY symbol
WINDOW TUMBLING(INTERVAL '1' SECOND)
EMIT FINAL
WITH ('trades.type' = 'synthetic',
      'trades.schema' = 'symbol STRING ENUM(AAPL,MSFT,GOOG,AMZN,NVDA), price DECIMAL(10,2) RANGE(100,500) WALK, quantity BIGINT RANGE(1,1000), ts TIMESTAMP',
      'trades.rate' = '200',
      'trades.event.time.field' = 'ts');
