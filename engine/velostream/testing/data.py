"""Rows from files (JSON lines, a JSON array, CSV) for spec inputs and expected outputs, and a
schema inferred from sample rows (`velo test infer-schema`)."""

from __future__ import annotations

import csv
import io
import itertools
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson

from velostream.testing.schema import FieldSpec, Schema

_INT = re.compile(r"^[+-]?\d+$")
_DEC = re.compile(r"^[+-]?\d+\.\d+$")
_FLOAT = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)


class DataError(ValueError):
    """A data file that cannot be read; the message names the file and the line."""


def file_format(path: str | Path, fmt: str | None = None) -> str:
    """jsonl, json or csv: given, else from the file's extension."""
    if fmt:
        f = fmt.lower()
        return {"json_lines": "jsonl", "ndjson": "jsonl", "jsonlines": "jsonl"}.get(f, f)
    suffix = Path(path).suffix.lower()
    return {".csv": "csv", ".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl"}.get(
        suffix, "jsonl"
    )


def _csv_value(text: str) -> Any:
    """A CSV cell: empty is NULL, integers and decimals become numbers as the engine reads
    them (a plain decimal with a point is exact)."""
    if text == "":
        return None
    if _INT.match(text):
        return int(text)
    if _DEC.match(text):
        return Decimal(text)
    if _FLOAT.match(text):
        return float(text)
    if text in ("true", "false"):
        return text == "true"
    return text


def read_rows(path: str | Path, fmt: str | None = None) -> list[dict]:
    """Every row of a JSON-lines, JSON-array or CSV file."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise DataError(f"{p}: no such file") from None
    kind = file_format(p, fmt)
    if kind == "csv":
        reader = csv.DictReader(io.StringIO(raw.decode()))
        return [{k: _csv_value(v or "") for k, v in row.items()} for row in reader]
    if kind == "json":
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError as e:
            raise DataError(f"{p}: not valid JSON: {e}") from None
        if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
            raise DataError(f"{p}: expected a JSON array of objects")
        return [decimal_strings(r) for r in data]
    rows = []
    for n, line in enumerate(raw.splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = orjson.loads(line)
        except orjson.JSONDecodeError as e:
            raise DataError(f"{p}:{n}: not valid JSON: {e}") from None
        if not isinstance(row, dict):
            raise DataError(f"{p}:{n}: expected a JSON object")
        rows.append(decimal_strings(row))
    return rows


def decimal_strings(row: dict) -> dict:
    """JSON strings that are plain decimals are exact decimals, as the engine reads them."""
    for k, v in row.items():
        if isinstance(v, str) and _DEC.match(v):
            row[k] = Decimal(v)
    return row


def infer_schema(rows: list[dict], name: str) -> Schema:
    """A schema that generates data like `rows`: types, ranges, enums for few distinct
    strings, null rates, sequences and timestamps."""
    names: list[str] = list(dict.fromkeys(k for r in rows for k in r))
    fields = [_infer_field(n, [r.get(n) for r in rows]) for n in names]
    return Schema(name=name, fields=fields, record_count=len(rows))


def _infer_field(name: str, values: list[Any]) -> FieldSpec:
    present = [v for v in values if v is not None]
    f = FieldSpec(name=name, type="string")
    if values:
        f.null_rate = round(1 - len(present) / len(values), 4)
    if not present:
        return f
    if all(isinstance(v, bool) for v in present):
        f.type = "boolean"
        f.probability = round(sum(present) / len(present), 4)
        return f
    if all(isinstance(v, int) and not isinstance(v, bool) for v in present):
        lo, hi = min(present), max(present)
        if lo >= 946_684_800_000 and hi < 4_102_444_800_000:  # epoch ms in 2000..2100
            f.type, f.lo, f.hi = "timestamp", lo, hi
            return f
        f.type, f.lo, f.hi = "integer", lo, hi
        steps = {b - a for a, b in itertools.pairwise(present)}
        if len(present) > 2 and len(steps) == 1 and next(iter(steps)) != 0:
            f.sequence = (present[0], next(iter(steps)))
        return f
    if all(isinstance(v, Decimal) for v in present):
        f.type = "decimal"
        f.scale = max(-v.as_tuple().exponent for v in present)  # type: ignore[operator]
        f.lo, f.hi = float(min(present)), float(max(present))
        return f
    if all(isinstance(v, int | float | Decimal) and not isinstance(v, bool) for v in present):
        f.type, f.lo, f.hi = "float", float(min(present)), float(max(present))
        return f
    texts = [str(v) for v in present]
    if all(_UUID.match(t) for t in texts):
        f.type = "uuid"
        return f
    if all(_DATE.match(t) for t in texts):
        f.type, f.lo, f.hi = "date", min(texts), max(texts)
        return f
    if all(_ISO.match(t) for t in texts):
        from velostream.formats.event_time import parse_iso8601

        ms = [parse_iso8601(t) for t in texts]
        f.type, f.lo, f.hi, f.format = "timestamp", min(ms), max(ms), "iso8601"
        return f
    distinct = list(dict.fromkeys(texts))
    if len(distinct) <= max(20, len(texts) // 10) and len(distinct) < len(texts):
        f.enum = sorted(distinct)
        counts = {d: texts.count(d) for d in f.enum}
        f.weights = [round(counts[d] / len(texts), 4) for d in f.enum]
    else:
        lens = [len(t) for t in texts]
        f.length = (min(lens), max(lens))
    return f
