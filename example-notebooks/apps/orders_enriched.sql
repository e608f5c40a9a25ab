-- @app: orders_enriched
-- A table of customers (the latest row per id) and a stream of orders looked up in it.
CREATE TABLE customers AS
SELECT id PRIMARY KEY, name, tier, country
FROM customer_updates
WITH ('customer_updates.type' = 'file_source', 'customer_updates.path' = 'data/customers.csv',
      'customer_updates.format' = 'csv');

CREATE STREAM orders_enriched AS
SELECT o.order_id, o.customer_id, c.name, c.tier, o.amount,
       CASE WHEN o.amount >= 500 THEN 'large' ELSE 'small' END AS size
FROM orders o
LEFT JOIN customers c ON o.customer_id = c.id
WITH ('orders.type' = 'kafka_source', 'orders.topic' = 'orders', 'orders.format' = 'json',
      'orders.event.time.field' = 'ts',
      'orders_enriched.type' = 'file_sink', 'orders_enriched.path' = 'out/orders.jsonl');
