"""The `velo` command: run, validate and explain Velostream SQL files."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path
from typing import Any

import click
import orjson

from velostream import values as V
from velostream.errors import RecordError, SqlError


def _fail(message: str, code: int = 1) -> None:
    click.echo(message, err=True)
    sys.exit(code)


class RowPrinter:
    """Prints result rows as they arrive: aligned columns (table), JSON lines or CSV."""

    def __init__(self, fmt: str, limit: int | None):
        self.fmt = fmt
        self.limit = limit
        self.printed: dict[int, int] = {}
        self.headers: dict[int, list[str]] = {}
        self.widths: dict[int, list[int]] = {}

    def __call__(self, stmt: Any, rows: list[dict]) -> None:
        key = id(stmt)
        for row in rows:
            if self.limit is not None and self.printed.get(key, 0) >= self.limit:
                return
            self.printed[key] = self.printed.get(key, 0) + 1
            self._print(key, row)
        sys.stdout.flush()

    def _print(self, key: int, row: dict) -> None:
        if self.fmt == "jsonl":
            clean = {k: V.to_json_value(v) for k, v in row.items()}
            click.echo(orjson.dumps(clean).decode())
            return
        cells = [_cell(v) for v in row.values()]
        if key not in self.headers:
            self.headers[key] = list(row.keys())
            self.widths[key] = [max(len(h), len(c), 8) for h, c in zip(row, cells, strict=False)]
            if self.fmt == "csv":
                click.echo(",".join(self.headers[key]))
            else:
                click.echo(
                    "  ".join(h.ljust(w) for h, w in zip(row, self.widths[key], strict=False))
                )
        if self.fmt == "csv":
            click.echo(",".join(_csv_cell(c) for c in cells))
        else:
            widths = self.widths[key]
            click.echo("  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=False)))


def _cell(v: Any) -> str:
    if v is None:
        return "NULL"
    j = V.to_json_value(v)
    return j if isinstance(j, str) else orjson.dumps(j).decode()


def _csv_cell(c: str) -> str:
    return '"' + c.replace('"', '""') + '"' if any(ch in c for ch in ',"\n') else c


class _Commands(click.Group):
    """The built-in commands plus those other packages add through the `velostream.commands`
    entry points (the Jupyter layer's `deploy`, `scheduler`, ...: the engine never imports
    them, and each is loaded only when it is asked for)."""

    @staticmethod
    def _plugins() -> dict[str, Any]:
        from importlib.metadata import entry_points

        return {ep.name: ep for ep in entry_points(group="velostream.commands")}

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Every command name, sorted."""
        return sorted({*super().list_commands(ctx), *self._plugins()})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        """A built-in command, else the entry point of that name, loaded now."""
        cmd = super().get_command(ctx, name)
        if cmd is None and (ep := self._plugins().get(name)) is not None:
            cmd = ep.load()
        return cmd


@click.group(cls=_Commands)
@click.version_option(package_name="velostream-studio", prog_name="velo")
def main() -> None:
    """Velostream streaming SQL: run, validate and explain .sql files."""


@main.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--limit", type=int, default=None, help="Stop each query after N output rows.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "jsonl", "csv"]),
    default="table",
    help="How SELECT results are printed.",
)
@click.option("--quiet", is_flag=True, help="Print no job status lines.")
@click.option("--metrics-port", type=int, default=None, help="Serve Prometheus /metrics here.")
@click.option("--metrics-addr", default="127.0.0.1", show_default=True, help="/metrics address.")
def run(
    file: Path,
    limit: int | None,
    fmt: str,
    quiet: bool,
    metrics_port: int | None,
    metrics_addr: str,
) -> None:
    """Run every statement of FILE in order; CREATE STREAM/TABLE start jobs."""
    from velostream.engine import Engine

    if not file.exists():
        _fail(f"velo: {file}: no such file")
    text = file.read_text()
    printer = RowPrinter(fmt, limit)
    engine = Engine(on_warning=lambda m: click.echo(f"warning: {m}", err=True))
    server = None
    if metrics_port is not None:
        from velostream.metrics import serve

        try:
            server = serve(metrics_port, metrics_addr, engine=engine)
        except OSError as e:
            _fail(f"velo: {e}")
        click.echo(f"metrics: {server.url}", err=True)
    try:
        code = asyncio.run(_run(engine, text, str(file), printer, limit, quiet))
    finally:
        if server is not None:
            server.close()
    sys.exit(code)


async def _run(
    engine: Any, text: str, path: str, printer: RowPrinter, limit: int | None, quiet: bool
) -> int:
    loop = asyncio.get_running_loop()
    main_task = asyncio.current_task()
    interrupted = False

    def on_signal() -> None:
        nonlocal interrupted
        interrupted = True
        for job in engine.jobs.values():
            job.stop()
        if main_task is not None:
            main_task.cancel()

    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, on_signal)
        except (NotImplementedError, RuntimeError):
            pass
    progress = None
    try:
        results = await engine.execute_async(
            text, path, on_rows=printer, wait=False, row_limit=limit
        )
        for r in results:
            if r.job is None and r.rows:  # SHOW / DESCRIBE / EXPLAIN
                printer(r.statement, r.rows)
        if not quiet and sys.stderr.isatty() and not printer.printed:
            progress = asyncio.create_task(_progress(engine))
        await asyncio.gather(*engine.tasks, return_exceptions=True)
    except asyncio.CancelledError:
        if interrupted:
            click.echo("\nstopped", err=True)
            return 0
        raise
    except (SqlError, RecordError, OSError) as e:
        click.echo(f"velo: {e}", err=True)
        return 1
    finally:
        if progress is not None:
            progress.cancel()
            click.echo("\r\033[K", err=True, nl=False)
    jobs = {id(j): j for j in engine.jobs.values()}
    jobs.update({id(r.job): r.job for r in results if r.job is not None})
    failed = [j for j in jobs.values() if j.state == "failed"]
    for j in failed:
        click.echo(f"velo: job {j.name} failed: {j.error}", err=True)
    if not quiet:
        for j in engine.jobs.values():
            click.echo(f"job {j.name}: {_summary(j)}", err=True)
    return 1 if failed else 0


def _summary(job: Any) -> str:
    st = job.stats
    extra = [f"{n} {what}" for n, what in ((st.late, "late"), (st.malformed, "malformed")) if n]
    tail = f" ({', '.join(extra)})" if extra else ""
    return f"{job.state}, {st.records_in} records in, {st.rows_out} rows out{tail}"


async def _progress(engine: Any) -> None:
    """A status line on a terminal while jobs run: records in and the input rate."""
    while True:
        await asyncio.sleep(1)
        parts = [
            f"{j.name}: {j.stats.records_in:,} in, {j.stats.rate():,.0f}/s"
            for j in engine.jobs.values()
            if j.state == "running"
        ]
        if parts:
            click.echo("\r\033[K" + " | ".join(parts), err=True, nl=False)


@main.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
def validate(file: Path, fmt: str) -> None:
    """Check FILE's syntax, names, functions and WITH properties without running anything."""
    from velostream.engine import Engine

    if not file.exists():
        _fail(f"velo: {file}: no such file")
    errors, warnings = Engine().validate(file.read_text(), str(file))
    if fmt == "json":
        out = {
            "file": str(file),
            "valid": not errors,
            "errors": [e.to_dict() for e in errors],
            "warnings": warnings,
        }
        click.echo(orjson.dumps(out, option=orjson.OPT_INDENT_2).decode())
    else:
        for w in warnings:
            click.echo(f"{file}: warning: {w}", err=True)
        for e in errors:
            click.echo(str(e), err=True)
        if not errors:
            click.echo(f"{file}: ok")
    sys.exit(1 if errors else 0)


@main.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def explain(file: Path) -> None:
    """Print the plan of every query in FILE."""
    from velostream.engine import Engine
    from velostream.plan.describe import explain as explain_plan
    from velostream.sql.parse import parse_script

    engine = Engine()
    try:
        for stmt in parse_script(file.read_text(), str(file)).statements:
            if stmt.query is None:
                continue
            if stmt.kind == "create_table":
                engine.catalog.tables[(stmt.name or "").lower()] = stmt
            for line in explain_plan(engine.plan(stmt), stmt):
                click.echo(line)
            if stmt.kind == "create_stream":
                engine.catalog.streams[(stmt.name or "").lower()] = stmt
    except SqlError as e:
        _fail(f"velo: {e}")


@main.command("functions")
def functions_cmd() -> None:
    """List every built-in function (what SHOW FUNCTIONS shows)."""
    from velostream.functions.registry import catalog

    for name, kind, category, desc in catalog():
        click.echo(f"{name:<24} {kind:<10} {category:<12} {desc}")
