"""Running a file: statements in order, exit codes, errors on stderr, SELECT prints rows."""

from __future__ import annotations

import pytest
from harness import Case, sink, src, with_

PEOPLE = [
    {"id": 1, "name": "alice", "ts": 1000},
    {"id": 2, "name": "bob", "ts": 2000},
    {"id": 3, "name": "carol", "ts": 3000},
]

CASES = [
    Case(
        id="run_two_statements_both_sinks",
        rule="velo run FILE.sql runs every statement of the file in order; exits 0 when every job has ended",
        sql=f"""
CREATE STREAM run_first AS SELECT id FROM people WHERE id <= 2
{with_(src("people", "people.jsonl"), sink("run_first", "first.jsonl"))};
CREATE STREAM run_second AS SELECT name FROM people WHERE id >= 2
{with_(src("people", "people.jsonl"), sink("run_second", "second.jsonl"))};
""",
        inputs={"people.jsonl": PEOPLE},
        outputs={
            "first.jsonl": [{"id": 1}, {"id": 2}],
            "second.jsonl": [{"name": "bob"}, {"name": "carol"}],
        },
    ),
    Case(
        id="run_projection_keeps_file_order",
        rule="file_sink jsonl: one object per output row, in emission order",
        sql=f"""
CREATE STREAM run_proj AS SELECT name, id FROM people
{with_(src("people", "people.jsonl"), sink("run_proj"))};
""",
        inputs={"people.jsonl": PEOPLE},
        expected=[
            {"name": "alice", "id": 1},
            {"name": "bob", "id": 2},
            {"name": "carol", "id": 3},
        ],
    ),
    Case(
        id="run_plain_select_prints_rows",
        rule="A plain SELECT prints its rows",
        sql=f"""
SELECT name FROM people WHERE id <> 2
{with_(src("people", "people.jsonl"))};
""",
        inputs={"people.jsonl": PEOPLE},
        stdout=["alice", "carol"],
    ),
    Case(
        id="run_unknown_function_fails",
        rule="velo run exits non-zero with a message on standard error when any statement fails",
        sql=f"""
CREATE STREAM run_badfn AS SELECT no_such_function_xyz(id) AS v FROM people
{with_(src("people", "people.jsonl"), sink("run_badfn"))};
""",
        inputs={"people.jsonl": PEOPLE},
        exit_code=1,
        stderr=["no_such_function_xyz"],
    ),
    Case(
        id="run_syntax_error_fails",
        rule="velo run exits non-zero with a message on standard error when any statement fails",
        sql=f"""
CREATE STREAM run_syntax AS SELECT id FROM FROM people
{with_(src("people", "people.jsonl"), sink("run_syntax"))};
""",
        inputs={"people.jsonl": PEOPLE},
        exit_code=1,
    ),
    Case(
        id="run_second_statement_fails",
        rule="velo run exits non-zero ... when any statement or job fails",
        sql=f"""
CREATE STREAM run_ok AS SELECT id FROM people
{with_(src("people", "people.jsonl"), sink("run_ok", "ok.jsonl"))};
CREATE STREAM run_bad AS SELECT id FROM people
{with_(src("people", "people.jsonl"), sink("run_bad", "bad.jsonl"), "'run_bad.colour' = 'red'")};
""",
        inputs={"people.jsonl": PEOPLE},
        exit_code=1,
        stderr=["colour"],
    ),
    Case(
        id="run_relative_paths_from_working_directory",
        rule="'orders.path' = 'in/orders.jsonl' (paths as written, from where velo run runs)",
        sql="""
CREATE STREAM run_rel AS SELECT id FROM orders
WITH ('orders.type' = 'file_source', 'orders.path' = 'in/orders.jsonl', 'orders.format' = 'jsonl',
      'orders.event.time.field' = 'ts',
      'run_rel.type' = 'file_sink', 'run_rel.path' = 'out/result.jsonl', 'run_rel.format' = 'jsonl');
""",
        inputs={"in/orders.jsonl": [{"id": 7, "ts": 1}, {"id": 8, "ts": 2}]},
        sink="out/result.jsonl",
        expected=[{"id": 7}, {"id": 8}],
        solo=True,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_running(case: Case, conformance) -> None:
    """velo run conforms to 'Running a file'."""
    conformance.check(case)
