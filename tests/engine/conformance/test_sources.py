"""Sources and sinks named in WITH: formats, globs, property keys, empty and malformed input."""

from __future__ import annotations

import pytest
from harness import Case, Unordered, sink, src, with_

ROWS = [
    {"id": 1, "city": "Oslo", "ts": 1000},
    {"id": 2, "city": "Rome", "ts": 2000},
    {"id": 3, "city": "Oslo", "ts": 3000},
]

CASES = [
    Case(
        id="src_jsonl",
        rule="file_source format = jsonl",
        sql=f"""
CREATE STREAM src_jl AS SELECT id, city FROM s
{with_(src("s", "s.jsonl"), sink("src_jl"))};
""",
        inputs={"s.jsonl": ROWS},
        expected=[
            {"id": 1, "city": "Oslo"},
            {"id": 2, "city": "Rome"},
            {"id": 3, "city": "Oslo"},
        ],
    ),
    Case(
        id="src_json_lines_alias",
        rule="format = jsonl (alias json_lines)",
        sql=f"""
CREATE STREAM src_jl2 AS SELECT id FROM s WHERE city = 'Oslo'
{with_(src("s", "s.jsonl", fmt="json_lines"), sink("src_jl2"))};
""",
        inputs={"s.jsonl": ROWS},
        expected=[{"id": 1}, {"id": 3}],
    ),
    Case(
        id="src_json_array",
        rule="format = json (an array)",
        sql=f"""
CREATE STREAM src_arr AS SELECT id, city FROM s WHERE id > 1
{with_(src("s", "s.json", fmt="json"), sink("src_arr"))};
""",
        inputs={
            "s.json": '[{"id": 1, "city": "Oslo", "ts": 1000},\n'
            ' {"id": 2, "city": "Rome", "ts": 2000},\n'
            ' {"id": 3, "city": "Oslo", "ts": 3000}]\n'
        },
        expected=[{"id": 2, "city": "Rome"}, {"id": 3, "city": "Oslo"}],
    ),
    Case(
        id="src_csv_header",
        rule="format = csv (header row)",
        # Only string columns are selected: SEMANTICS does not say how CSV cells are typed.
        sql=f"""
CREATE STREAM src_csv AS SELECT name, city FROM s WHERE city = 'Oslo'
{with_(src("s", "s.csv", fmt="csv", ts=None), sink("src_csv"))};
""",
        inputs={"s.csv": "name,city\nann,Oslo\nben,Rome\ncid,Oslo\n"},
        expected=[{"name": "ann", "city": "Oslo"}, {"name": "cid", "city": "Oslo"}],
    ),
    Case(
        id="src_glob_reads_every_file",
        rule="file_source path: a glob is allowed",
        sql=f"""
CREATE STREAM src_glob AS SELECT id FROM s
{with_(src("s", "parts/part-*.jsonl"), sink("src_glob"))};
""",
        inputs={
            "parts/part-1.jsonl": [{"id": 1, "ts": 1000}, {"id": 2, "ts": 2000}],
            "parts/part-2.jsonl": [{"id": 3, "ts": 3000}],
            "parts/other.jsonl": [{"id": 99, "ts": 4000}],
        },
        expected=[Unordered({"id": 1}, {"id": 2}, {"id": 3})],
    ),
    Case(
        id="src_json_sink_array",
        rule="file_sink format json",
        sql=f"""
CREATE STREAM src_jsink AS SELECT id FROM s WHERE id <> 2
{with_(src("s", "s.jsonl"), sink("src_jsink", "out.json", fmt="json"))};
""",
        inputs={"s.jsonl": ROWS},
        sink="out.json",
        expected=[{"id": 1}, {"id": 3}],
    ),
    Case(
        id="src_keys_case_insensitive",
        rule="Property keys are case-insensitive",
        sql="""
CREATE STREAM src_ci AS SELECT id FROM s WHERE id >= 2
WITH ('S.TYPE' = 'file_source', 'S.Path' = '{dir}/s.jsonl', 's.FORMAT' = 'jsonl',
      'S.Event.Time.Field' = 'ts',
      'SRC_CI.TYPE' = 'file_sink', 'src_ci.PATH' = '{dir}/out.jsonl', 'Src_Ci.Format' = 'jsonl');
""",
        inputs={"s.jsonl": ROWS},
        expected=[{"id": 2}, {"id": 3}],
    ),
    Case(
        id="src_unknown_key_named",
        rule="an unknown key ... stops the statement with an error that names the key",
        sql=f"""
CREATE STREAM src_unk AS SELECT id FROM s
{with_(src("s", "s.jsonl", extra={"flavour": "mint"}), sink("src_unk"))};
""",
        inputs={"s.jsonl": ROWS},
        exit_code=1,
        stderr=["flavour"],
    ),
    Case(
        id="src_unknown_job_key_named",
        rule="an unknown key ... stops the statement with an error that names the key",
        sql=f"""
CREATE STREAM src_unk2 AS SELECT id FROM s
{with_(src("s", "s.jsonl"), sink("src_unk2"), "'watermark.max_out_of_orderliness' = '1s'")};
""",
        inputs={"s.jsonl": ROWS},
        exit_code=1,
        stderr=["max_out_of_orderliness"],
    ),
    Case(
        id="src_missing_path_named",
        rule="a missing required key ... stops the statement with an error that names the key",
        sql="""
CREATE STREAM src_nopath AS SELECT id FROM s
WITH ('s.type' = 'file_source', 's.format' = 'jsonl',
      'src_nopath.type' = 'file_sink', 'src_nopath.path' = '{dir}/out.jsonl',
      'src_nopath.format' = 'jsonl');
""",
        inputs={"s.jsonl": ROWS},
        exit_code=1,
        stderr=["path"],
    ),
    Case(
        id="src_bad_format_value_named",
        rule="a bad value stops the statement with an error that names the key",
        sql=f"""
CREATE STREAM src_badfmt AS SELECT id FROM s
{with_(src("s", "s.jsonl", fmt="yaml"), sink("src_badfmt"))};
""",
        inputs={"s.jsonl": ROWS},
        exit_code=1,
        stderr=["format"],
    ),
    Case(
        id="src_bad_watermark_value_named",
        rule="a bad value stops the statement with an error that names the key",
        sql=f"""
CREATE STREAM src_badwm AS SELECT id FROM s
{with_(src("s", "s.jsonl"), sink("src_badwm"), "'watermark.max_out_of_orderness' = 'soonish'")};
""",
        inputs={"s.jsonl": ROWS},
        exit_code=1,
        stderr=["max_out_of_orderness"],
    ),
    Case(
        id="src_empty_file_empty_sink",
        rule="(bounded job runs to the end of its input and writes its sink) empty input",
        sql=f"""
CREATE STREAM src_empty AS SELECT id FROM s
{with_(src("s", "s.jsonl"), sink("src_empty"))};
""",
        inputs={"s.jsonl": ""},
        expected=[],
    ),
    Case(
        id="src_empty_file_aggregate_emits_nothing",
        rule="an empty window or group emits nothing",
        sql=f"""
CREATE STREAM src_empty_agg AS SELECT city, COUNT(*) AS n FROM s GROUP BY city EMIT FINAL
{with_(src("s", "s.jsonl"), sink("src_empty_agg"))};
""",
        inputs={"s.jsonl": ""},
        expected=[],
    ),
    Case(
        id="src_empty_json_array",
        rule="format = json (an array); empty input",
        sql=f"""
CREATE STREAM src_empty_arr AS SELECT COUNT(*) AS n FROM s WINDOW TUMBLING(1s)
{with_(src("s", "s.json", fmt="json"), sink("src_empty_arr"))};
""",
        inputs={"s.json": "[]"},
        expected=[],
    ),
    Case(
        id="src_malformed_records_skipped",
        rule="A malformed input record is counted and skipped ('<src>.on.error', default skip)",
        sql=f"""
CREATE STREAM src_bad_rec AS SELECT id FROM s
{with_(src("s", "s.jsonl"), sink("src_bad_rec"))};
""",
        inputs={"s.jsonl": '{"id": 1, "ts": 1000}\nthis is not json\n{"id": 3, "ts": 3000}\n'},
        expected=[{"id": 1}, {"id": 3}],
    ),
    Case(
        id="src_malformed_records_skip_explicit",
        rule="A malformed input record is counted and skipped ('<src>.on.error' = 'skip')",
        sql=f"""
CREATE STREAM src_bad_rec2 AS SELECT id FROM s
{with_(src("s", "s.jsonl", extra={"on.error": "skip"}), sink("src_bad_rec2"))};
""",
        inputs={"s.jsonl": '{"id": 1, "ts": 1000}\n{"id": 2, "ts": \n{"id": 3, "ts": 3000}\n'},
        expected=[{"id": 1}, {"id": 3}],
    ),
    Case(
        id="src_csv_sink_header_and_rows",
        rule="file_sink format csv",
        sql=f"""
CREATE STREAM src_csvsink AS SELECT city, id FROM s WHERE id <> 2
{with_(src("s", "s.jsonl"), sink("src_csvsink", "out.csv", fmt="csv"))};
""",
        inputs={"s.jsonl": ROWS},
        sink="out.csv",
        expected=[{"city": "Oslo", "id": "1"}, {"city": "Oslo", "id": "3"}],
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_sources(case: Case, conformance) -> None:
    """Sources, sinks and WITH properties conform to SEMANTICS.md."""
    conformance.check(case)
