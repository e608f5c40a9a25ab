"""`velo test`: run a SQL app against its spec; `velo test init`, `velo test infer-schema`."""

from __future__ import annotations

import sys
from pathlib import Path

import click


class _RunByDefault(click.Group):
    """`velo test APP.sql ...` means `velo test run APP.sql ...`."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        """Insert `run` unless the first word is a subcommand or a help flag."""
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["run", *args]
        return super().parse_args(ctx, args)


@click.group(cls=_RunByDefault)
def test() -> None:
    """Test a SQL app against its spec (APP.test.yaml): generated or given inputs, a simulated
    clock, assertions on every output. `velo test APP.sql` runs it; `init` and `infer-schema`
    write a first spec and schema."""


@test.command("run")
@click.argument("sql", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--spec", "spec_path", type=click.Path(dir_okay=False, path_type=Path),
              help="the spec (default: APP.test.yaml beside APP.sql)")  # fmt: skip
@click.option("--output", "fmt", type=click.Choice(["text", "json", "junit"]), default="text",
              help="report format")  # fmt: skip
@click.option("--report", "report_path", type=click.Path(dir_okay=False, path_type=Path),
              help="also write the report (in --output's format) to this file")  # fmt: skip
@click.option(
    "--seed", type=int, default=None, help="seed for generated data (default: the spec's)"
)
@click.option("--only", default=None, help="only the assertions of this query")
@click.option("--ai", is_flag=True, help="on failure, ask Claude to explain it (sends the SQL, "
              "the spec and the failing rows to the Anthropic API)")  # fmt: skip
@click.option("--no-timing", is_flag=True, help="leave run times out of json (for diffs)")
def run_cmd(
    sql: Path,
    spec_path: Path | None,
    fmt: str,
    report_path: Path | None,
    seed: int | None,
    only: str | None,
    ai: bool,
    no_timing: bool,
) -> None:
    """Run SQL under its spec; exit 1 when an assertion fails or the app cannot run."""
    from velostream.testing import report as R
    from velostream.testing.runner import HarnessError, run_test
    from velostream.testing.spec import SpecError, find_spec

    tty = sys.stderr.isatty()

    def progress(message: str) -> None:
        if tty:
            click.echo("\r\033[K" + message, err=True, nl=False)
        else:
            click.echo(message, err=True)

    try:
        rep = run_test(sql, spec_path, seed, only, progress)
    except (HarnessError, SpecError) as e:
        if tty:
            click.echo("\r\033[K", err=True, nl=False)
        click.echo(f"velo test: {e}", err=True)
        sys.exit(1)
    if tty:
        click.echo("\r\033[K", err=True, nl=False)
    if fmt == "json":
        text = R.to_json(rep, timing=not no_timing)
    elif fmt == "junit":
        text = R.to_junit(rep)
    else:
        text = R.to_text(rep, color=sys.stdout.isatty())
    click.echo(text)
    if report_path is not None:
        report_path.write_text(text if fmt != "text" else R.to_text(rep) + "\n")
    if ai and not rep.passed:
        from velostream.testing.ai import AiError, explain

        spec_file = Path(rep.spec_path) if rep.spec_path else find_spec(sql)
        try:
            click.echo(f"\nAI analysis ({_ai_target()}):", err=True)
            click.echo(explain(rep, sql.read_text(), spec_file.read_text() if spec_file else ""))
        except AiError as e:
            click.echo(f"velo test: {e}", err=True)
    sys.exit(0 if rep.passed else 1)


def _ai_target() -> str:
    import os

    from velostream.testing.ai import model_name

    return f"{model_name()} at {os.environ.get('ANTHROPIC_BASE_URL') or 'api.anthropic.com'}"


@test.command("init")
@click.argument("sql", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--output", "out", type=click.Path(dir_okay=False, path_type=Path),
              help="where to write it (default: APP.test.yaml beside APP.sql; - for stdout)")  # fmt: skip
@click.option("--force", is_flag=True, help="overwrite an existing spec")
def init_cmd(sql: Path, out: Path | None, force: bool) -> None:
    """Write a first spec for SQL: an input per source, assertions per query."""
    from velostream.errors import SqlError
    from velostream.testing.scaffold import scaffold_spec

    if not sql.exists():
        click.echo(f"velo test: {sql}: no such file", err=True)
        sys.exit(1)
    try:
        text = scaffold_spec(sql.read_text(), str(sql))
    except SqlError as e:
        click.echo(f"velo test: {e}", err=True)
        sys.exit(1)
    if out is not None and str(out) == "-":
        click.echo(text, nl=False)
        return
    stem = sql.name[: -len(".sql")] if sql.name.endswith(".sql") else sql.stem
    target = out or sql.with_name(f"{stem}.test.yaml")
    if target.exists() and not force:
        click.echo(f"velo test: {target} exists (--force overwrites it)", err=True)
        sys.exit(1)
    target.write_text(text)
    click.echo(f"wrote {target}")


@test.command("infer-schema")
@click.argument("data", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--output", "out", type=click.Path(dir_okay=False, path_type=Path),
              help="where to write it (default: stdout)")  # fmt: skip
@click.option("--name", default=None, help="the schema's name (default: the file's stem)")
@click.option("--format", "fmt", type=click.Choice(["jsonl", "json", "csv"]), default=None,
              help="the file's format (default: from its extension)")  # fmt: skip
def infer_cmd(data: Path, out: Path | None, name: str | None, fmt: str | None) -> None:
    """Write a schema (.schema.yaml) that generates data like the sample file DATA."""
    from velostream.testing.data import DataError, infer_schema, read_rows
    from velostream.testing.scaffold import schema_yaml

    try:
        rows = read_rows(data, fmt)
    except DataError as e:
        click.echo(f"velo test: {e}", err=True)
        sys.exit(1)
    if not rows:
        click.echo(f"velo test: {data}: no rows to learn from", err=True)
        sys.exit(1)
    text = schema_yaml(infer_schema(rows, name or data.name.split(".")[0]))
    if out is None:
        click.echo(text, nl=False)
    else:
        out.write_text(text)
        click.echo(f"wrote {out}", err=True)
