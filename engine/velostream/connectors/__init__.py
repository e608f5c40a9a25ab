"""Sources and sinks named in WITH by `'<name>.type'`.

| type          | role   | keys (default)                                                        |
|---------------|--------|-----------------------------------------------------------------------|
| `file_source` | source | `path` (required, a glob; sorted order), `format` (`jsonl`, alias     |
|               |        | `json_lines`/`jsonlines`; `json` = one array; `csv` with a header;    |
|               |        | default from the suffix, else jsonl), `watch` (`false`),              |
|               |        | `polling.interval` (`100ms`), `delimiter` (`,`), `quote` (`"`)        |
| `synthetic`   | source | `schema` (see `synthetic.py`) or `preset` (`trades`), `rate` (0 = as  |
|               |        | fast as possible), `count` (absent = unbounded), `seed` (42),         |
|               |        | `start.time`, `keys` (10), `pace` (default: unbounded with a rate)    |
| `memory`      | source | rows handed over from Python (`memory={name: rows}`)                  |
| `file_sink`   | sink   | `path` (required), `format` (`jsonl`, `csv`, `json`), `append`        |
| `memory`      | sink   | rows collected in `memory[name]`                                      |

Every source also takes `event.time.field`, `event.time.format` (`epoch_millis`,
`epoch_seconds`, `iso8601` or a strftime pattern), `watermark.max_out_of_orderness`,
`on.error` (`skip` | `fail` | `dead_letter`), `dead.letter.path` and `batch.size` (8192).

Entry points are in `registry`: `split_properties`, `validate`, `validate_job`,
`create_source`, `create_sink`, `describe_types`.
"""
