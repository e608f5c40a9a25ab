"""What the model is told: the dialect's rules, the kernel's catalog, the recent cells, and the
one tool it answers with (SQL, an explanation, a suggested chart)."""

from __future__ import annotations

import json
from typing import Any

TOOL_NAME = "answer_sql"
MAX_CELL_CHARS = 2000
MAX_CELLS = 8

DIALECT_RULES = """\
Velostream SQL rules (follow them exactly; the answer is checked by the engine):
- Sources and sinks are declared in the statement's WITH clause, keyed by the stream's name:
  WITH ('trades.type' = 'synthetic' | 'file_source' | 'memory', 'trades.event.time.field' = 'ts', ...).
  A stream, table or data set of the catalog below needs no WITH entry; a source that only the
  recent cells declare must be declared again in the answer's WITH clause (copy it).
- Windows go after GROUP BY: WINDOW TUMBLING(INTERVAL '1' MINUTE), WINDOW SLIDING(size, advance)
  (also HOPPING), WINDOW SESSION(gap). Sizes: INTERVAL '5' MINUTE, 5m, 30s, 500ms, 1h, 1d.
  `_window_start` and `_window_end` (epoch ms) are the window bounds; select them with an alias.
- EMIT FINAL emits one row per window and group when the window closes (the default with a
  window); EMIT CHANGES emits the updated row after each input row (the default for GROUP BY
  without a window). The clause order is: SELECT .. FROM .. WHERE .. GROUP BY .. WINDOW ..
  HAVING .. EMIT .. LIMIT .. WITH (..).
- Windows close on the watermark: the largest event time read minus
  'watermark.max_out_of_orderness' (e.g. '5s'); later records are late and dropped.
- CREATE STREAM name AS SELECT .. starts a background job; CREATE TABLE keeps the latest row per
  PRIMARY KEY; a plain SELECT shows a live result in the notebook.
- Annotations are comment lines directly above a statement: -- @name: title,
  -- @metric: metric_name (with -- @metric_type: counter|gauge|histogram and
  -- @metric_labels: col1,col2) exports a Prometheus metric; -- @viz: line|bar|indicator|none.
- DECIMAL arithmetic is exact; string literals use single quotes; names are case-insensitive.
- Answer with exactly one statement, no trailing explanation inside the SQL.
"""

INSTRUCTIONS = f"""\
You write Velostream streaming SQL for a Jupyter notebook. First write one or two short
sentences saying what the query does, then call the `{TOOL_NAME}` tool once with the SQL, the
explanation and a suggested chart. Use only the streams, tables, columns and sources listed
below or declared in the recent cells."""

ANSWER_TOOL: dict[str, Any] = {
    "name": TOOL_NAME,
    "description": "Give the Velostream SQL statement that answers the question.",
    "input_schema": {
        "type": "object",
        "properties": {
            "sql": {"type": "string", "description": "one Velostream SQL statement"},
            "explanation": {"type": "string", "description": "what the query does, briefly"},
            "chart": {
                "type": "object",
                "description": "how to chart the result",
                "properties": {
                    "type": {"type": "string", "enum": ["line", "bar", "indicator", "table"]},
                    "x": {"type": "string"},
                    "y": {"type": "string"},
                },
            },
        },
        "required": ["sql", "explanation"],
    },
}


def catalog_text(catalog: dict[str, Any] | None) -> str:
    """The catalog as the model reads it: one block per stream, table or data set."""
    objects = (catalog or {}).get("objects") or []
    if not objects:
        return "Catalog: empty (no streams, tables or registered data in the kernel yet)."
    lines = ["Catalog of the notebook's kernel:"]
    for obj in objects:
        cols = ", ".join(
            f"{c['name']} {c.get('type') or ''}".strip() for c in obj.get("columns", [])
        )
        lines.append(f"- {obj.get('kind', 'stream')} {obj['name']}({cols})")
        if obj.get("sql"):
            lines.append(f"  defined as: {obj['sql']}")
        for row in obj.get("sample") or []:
            lines.append(f"  sample row: {json.dumps(row, default=str)}")
    params = (catalog or {}).get("parameters") or {}
    if params:
        lines.append(
            "Parameters (use as :name): " + ", ".join(f"{k}={v!r}" for k, v in params.items())
        )
    return "\n".join(lines)


def cells_text(cells: list[str] | None) -> str:
    """The notebook's recent cells, newest last, each cut to a readable size."""
    cells = [c for c in (cells or []) if c.strip()][-MAX_CELLS:]
    if not cells:
        return "Recent cells: none."
    parts = ["Recent cells of the notebook (oldest first):"]
    for i, c in enumerate(cells, 1):
        text = c if len(c) <= MAX_CELL_CHARS else c[:MAX_CELL_CHARS] + "\n-- (cut)"
        parts.append(f"[cell {i}]\n{text}")
    return "\n".join(parts)


def system_prompt(catalog: dict[str, Any] | None, cells: list[str] | None) -> str:
    """The whole system prompt: instructions, rules, catalog, recent cells."""
    return "\n\n".join([INSTRUCTIONS, DIALECT_RULES, catalog_text(catalog), cells_text(cells)])


def repair_text(errors: list[str]) -> str:
    """The follow-up message when the engine rejected the SQL."""
    return (
        "The Velostream engine rejected that SQL:\n"
        + "\n".join(errors)
        + f"\nFix it and call `{TOOL_NAME}` again with the corrected statement."
    )
