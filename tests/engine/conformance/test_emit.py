"""Emitting: every cell of the emit table, HAVING, FIRST_VALUE/LAST_VALUE as aggregates."""

from __future__ import annotations

import pytest
from harness import Case, Unordered, sink, src, with_

KV = [
    {"k": "a", "v": 5, "ts": 1000},
    {"k": "b", "v": 1, "ts": 2000},
    {"k": "a", "v": 3, "ts": 3000},
    {"k": "a", "v": 5, "ts": 12000},
]

NO_GROUP = "no GROUP BY, no window: one row per input row that passes WHERE (no EMIT, EMIT CHANGES and EMIT FINAL alike)"
GROUP_CHANGES = "GROUP BY, no window, EMIT CHANGES (and no EMIT clause): after each input row, the current row of the group it fell into"
GROUP_FINAL = "GROUP BY, no window, EMIT FINAL: one row per group at the end of a bounded input"
WIN_CHANGES = "window, EMIT CHANGES: after each input row, the current row of each window and group it fell into"
WIN_FINAL = (
    "window, EMIT FINAL (and no EMIT clause): one row per window and group when the window closes"
)


def _three_emits(case_id: str) -> Case:
    stmts = []
    for i, emit in enumerate(("", "EMIT CHANGES", "EMIT FINAL")):
        name = f"e_plain{i}"
        stmts.append(
            f"CREATE STREAM {name} AS SELECT k, v FROM s WHERE v > 1 {emit}\n"
            f"{with_(src('s', 's.jsonl'), sink(name, f'out{i}.jsonl'))};"
        )
    rows = [{"k": "a", "v": 5}, {"k": "a", "v": 3}, {"k": "a", "v": 5}]
    return Case(
        id=case_id,
        rule=NO_GROUP,
        sql="\n".join(stmts),
        inputs={"s.jsonl": KV},
        outputs={f"out{i}.jsonl": rows for i in range(3)},
    )


CASES = [
    _three_emits("emit_no_group_no_window_all_modes"),
    Case(
        id="emit_group_no_window_default_is_changes",
        rule=GROUP_CHANGES,
        sql=f"""
CREATE STREAM e_gdef AS SELECT k, COUNT(*) AS n, SUM(v) AS s FROM s GROUP BY k
{with_(src("s", "s.jsonl"), sink("e_gdef"))};
""",
        inputs={"s.jsonl": KV},
        expected=[
            {"k": "a", "n": 1, "s": 5},
            {"k": "b", "n": 1, "s": 1},
            {"k": "a", "n": 2, "s": 8},
            {"k": "a", "n": 3, "s": 13},
        ],
    ),
    Case(
        id="emit_group_changes_even_when_unchanged",
        rule=GROUP_CHANGES
        + "; EMIT CHANGES emits a row for every input row that reaches the aggregate, even when the aggregate's values did not change",
        # MAX(v) for a stays 5 after v = 3 and v = 5: still one row per input row
        sql=f"""
CREATE STREAM e_gch AS SELECT k, MAX(v) AS m FROM s GROUP BY k EMIT CHANGES
{with_(src("s", "s.jsonl"), sink("e_gch"))};
""",
        inputs={"s.jsonl": KV},
        expected=[{"k": "a", "m": 5}, {"k": "b", "m": 1}, {"k": "a", "m": 5}, {"k": "a", "m": 5}],
    ),
    Case(
        id="emit_group_changes_where_filters_input",
        rule=GROUP_CHANGES + "; only input rows that pass WHERE reach the aggregate",
        sql=f"""
CREATE STREAM e_gchw AS SELECT k, COUNT(*) AS n FROM s WHERE v <> 3 GROUP BY k EMIT CHANGES
{with_(src("s", "s.jsonl"), sink("e_gchw"))};
""",
        inputs={"s.jsonl": KV},
        expected=[{"k": "a", "n": 1}, {"k": "b", "n": 1}, {"k": "a", "n": 2}],
    ),
    Case(
        id="emit_group_final",
        rule=GROUP_FINAL,
        sql=f"""
CREATE STREAM e_gfin AS SELECT k, COUNT(*) AS n, SUM(v) AS s FROM s GROUP BY k EMIT FINAL
{with_(src("s", "s.jsonl"), sink("e_gfin"))};
""",
        inputs={"s.jsonl": KV},
        expected=[Unordered({"k": "a", "n": 3, "s": 13}, {"k": "b", "n": 1, "s": 1})],
    ),
    Case(
        id="emit_group_changes_having",
        rule=GROUP_CHANGES + "; HAVING filters emitted rows",
        sql=f"""
CREATE STREAM e_gchh AS SELECT k, COUNT(*) AS n FROM s GROUP BY k HAVING COUNT(*) >= 2 EMIT CHANGES
{with_(src("s", "s.jsonl"), sink("e_gchh"))};
""",
        inputs={"s.jsonl": KV},
        expected=[{"k": "a", "n": 2}, {"k": "a", "n": 3}],
    ),
    Case(
        id="emit_group_final_having",
        rule=GROUP_FINAL + "; HAVING filters emitted rows",
        sql=f"""
CREATE STREAM e_gfh AS SELECT k, SUM(v) AS s FROM s GROUP BY k HAVING SUM(v) > 1 EMIT FINAL
{with_(src("s", "s.jsonl"), sink("e_gfh"))};
""",
        inputs={"s.jsonl": KV},
        expected=[{"k": "a", "s": 13}],
    ),
    Case(
        id="emit_window_changes_group_by",
        rule=WIN_CHANGES + " (and nothing more when the window closes)",
        sql=f"""
CREATE STREAM e_wch AS SELECT k, COUNT(*) AS n, _window_start AS ws FROM s
GROUP BY k WINDOW TUMBLING(10s) EMIT CHANGES
{with_(src("s", "s.jsonl"), sink("e_wch"))};
""",
        inputs={"s.jsonl": KV},
        expected=[
            {"k": "a", "n": 1, "ws": 0},
            {"k": "b", "n": 1, "ws": 0},
            {"k": "a", "n": 2, "ws": 0},
            {"k": "a", "n": 1, "ws": 10000},
        ],
    ),
    Case(
        id="emit_window_changes_no_group_by",
        rule=WIN_CHANGES,
        sql=f"""
CREATE STREAM e_wch2 AS SELECT COUNT(*) AS n, MAX(v) AS m, _window_start AS ws FROM s
WINDOW TUMBLING(10s) EMIT CHANGES
{with_(src("s", "s.jsonl"), sink("e_wch2"))};
""",
        inputs={"s.jsonl": KV},
        # MAX stays 5 on the third row: EMIT CHANGES still emits it
        expected=[
            {"n": 1, "m": 5, "ws": 0},
            {"n": 2, "m": 5, "ws": 0},
            {"n": 3, "m": 5, "ws": 0},
            {"n": 1, "m": 5, "ws": 10000},
        ],
    ),
    Case(
        id="emit_window_changes_sliding_every_window",
        rule=WIN_CHANGES + "; several rows caused by one input row come in no particular order",
        # SLIDING(10s, 5s): 1001000 -> [995000, 1005000), [1000000, 1010000);
        # 1007000 -> [1000000, 1010000) (now 2), [1005000, 1015000)
        sql=f"""
CREATE STREAM e_wsl AS SELECT COUNT(*) AS n, _window_start AS ws, _window_end AS we FROM s
WINDOW SLIDING(10s, 5s) EMIT CHANGES
{with_(src("s", "s.jsonl"), sink("e_wsl"))};
""",
        inputs={"s.jsonl": [{"ts": 1_001_000}, {"ts": 1_007_000}]},
        expected=[
            Unordered(
                {"n": 1, "ws": 995_000, "we": 1_005_000},
                {"n": 1, "ws": 1_000_000, "we": 1_010_000},
            ),
            Unordered(
                {"n": 2, "ws": 1_000_000, "we": 1_010_000},
                {"n": 1, "ws": 1_005_000, "we": 1_015_000},
            ),
        ],
    ),
    Case(
        id="emit_window_changes_having",
        rule=WIN_CHANGES + "; HAVING filters emitted rows",
        sql=f"""
CREATE STREAM e_wchh AS SELECT k, COUNT(*) AS n FROM s
GROUP BY k WINDOW TUMBLING(10s) HAVING COUNT(*) > 1 EMIT CHANGES
{with_(src("s", "s.jsonl"), sink("e_wchh"))};
""",
        inputs={"s.jsonl": KV},
        expected=[{"k": "a", "n": 2}],
    ),
    Case(
        id="emit_window_final_group_by_having",
        rule=WIN_FINAL + "; HAVING filters emitted rows",
        sql=f"""
CREATE STREAM e_wfh AS SELECT k, COUNT(*) AS n, _window_start AS ws FROM s
GROUP BY k WINDOW TUMBLING(10s) HAVING COUNT(*) >= 1 AND k <> 'b' EMIT FINAL
{with_(src("s", "s.jsonl"), sink("e_wfh"))};
""",
        inputs={"s.jsonl": KV},
        expected=[{"k": "a", "n": 2, "ws": 0}, {"k": "a", "n": 1, "ws": 10000}],
    ),
    Case(
        id="emit_window_final_explicit",
        rule=WIN_FINAL,
        sql=f"""
CREATE STREAM e_wfin AS SELECT COUNT(*) AS n, SUM(v) AS s, _window_end AS we FROM s
WINDOW TUMBLING(10s) EMIT FINAL
{with_(src("s", "s.jsonl"), sink("e_wfin"))};
""",
        inputs={"s.jsonl": KV},
        expected=[{"n": 3, "s": 9, "we": 10000}, {"n": 1, "s": 5, "we": 20000}],
    ),
    Case(
        id="emit_first_last_value_aggregates",
        rule="FIRST_VALUE / LAST_VALUE used as aggregates take the first / last non-NULL value in processing order",
        sql=f"""
CREATE STREAM e_fl AS SELECT k, FIRST_VALUE(v) AS f, LAST_VALUE(v) AS l FROM s
GROUP BY k WINDOW TUMBLING(10s)
{with_(src("s", "s.jsonl"), sink("e_fl"))};
""",
        inputs={
            "s.jsonl": [
                {"k": "a", "v": None, "ts": 1000},
                {"k": "a", "v": 7, "ts": 2000},
                {"k": "a", "v": 2, "ts": 3000},
                {"k": "a", "ts": 4000},
                {"k": "a", "v": 9, "ts": 5000},
                {"k": "a", "v": None, "ts": 6000},
            ]
        },
        expected=[{"k": "a", "f": 7, "l": 9}],
    ),
    Case(
        id="emit_first_last_value_group_final",
        rule="FIRST_VALUE / LAST_VALUE used as aggregates take the first / last non-NULL value in processing order",
        # processing order is file order, not event-time order
        sql=f"""
CREATE STREAM e_fl2 AS SELECT k, FIRST_VALUE(name) AS f, LAST_VALUE(name) AS l FROM s
GROUP BY k EMIT FINAL
{with_(src("s", "s.jsonl"), sink("e_fl2"))};
""",
        inputs={
            "s.jsonl": [
                {"k": "a", "name": "x", "ts": 5000},
                {"k": "a", "name": "y", "ts": 1000},
                {"k": "a", "name": None, "ts": 9000},
            ]
        },
        expected=[{"k": "a", "f": "x", "l": "y"}],
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_emit(case: Case, conformance) -> None:
    """Emit modes conform to SEMANTICS.md."""
    conformance.check(case)
