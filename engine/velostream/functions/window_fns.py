"""Window-only functions (used with OVER): signatures and descriptions; the runtime runs them."""

from __future__ import annotations

from velostream.functions.registry import register_window

register_window("LAG", 1, 3, "LAG(x[, n[, default]]): x from n rows before in the partition.")
register_window("LEAD", 1, 3, "LEAD(x[, n[, default]]): x from n rows after in the partition.")
register_window("ROW_NUMBER", 0, 0, "Position of the row in its partition, from 1.")
register_window("RANK", 0, 0, "Rank by the ORDER BY, with gaps after ties.")
register_window("DENSE_RANK", 0, 0, "Rank by the ORDER BY, without gaps after ties.")
register_window("NTH_VALUE", 2, 2, "NTH_VALUE(x, n): x from the n-th row of the frame.")
register_window("PERCENT_RANK", 0, 0, "(rank - 1) / (rows in partition - 1).")
register_window("CUME_DIST", 0, 0, "Share of partition rows ordered at or before this row.")
register_window("NTILE", 1, 1, "NTILE(n): bucket number 1..n of the row in its partition.")
