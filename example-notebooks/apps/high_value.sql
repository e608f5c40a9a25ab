-- @app: high_value
-- Payments of 1000 or more, with the fee they carry.
CREATE STREAM high_value AS
SELECT id, account, amount, amount * 0.015 AS fee
FROM payments
WHERE amount >= 1000
WITH ('payments.type' = 'file_source', 'payments.path' = 'data/payments.jsonl',
      'high_value.type' = 'file_sink', 'high_value.path' = 'out/high_value.jsonl');
