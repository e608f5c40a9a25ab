"""A project folder as an agent sees it: its streams (sources, sinks, derived streams and
tables) read from `velo.yaml` and the `.sql` files, and the rule that paths stay inside it.

`velo.yaml` is optional::

    sql: ["apps/*.sql"]            # which SQL files declare the streams (default: **/*.sql)
    streams:                        # sources declared without SQL
      trades: {type: kafka_source, topic: trades, format: json, event.time.field: ts}

Without it every `.sql` file under the folder counts. A source is any `'<name>.type'` in a
statement's WITH clause; a derived stream or table is a `CREATE STREAM|TABLE name AS SELECT`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from velostream.connectors.registry import SINK_TYPES, split_properties
from velostream.errors import SqlError
from velostream.sql.ast import Statement
from velostream.sql.parse import parse_script

PROJECT_FILE = "velo.yaml"
SKIP_DIRS = {".git", ".venv", "node_modules", ".velo", "__pycache__", ".ipynb_checkpoints"}


class ProjectError(ValueError):
    """A project that cannot be read, or a path that leaves it."""


@dataclass
class StreamInfo:
    """One named stream of the project."""

    name: str
    kind: str  # source | sink | stream | table
    type: str | None = None  # connector type of a source or sink
    props: dict[str, str] = field(default_factory=dict)  # its WITH keys, prefix removed
    file: str | None = None  # relative to the project folder
    line: int | None = None
    statement: Statement | None = None  # what defines a derived stream or table

    def summary(self) -> dict[str, Any]:
        """What `list_streams` shows of it."""
        return {
            "name": self.name,
            "kind": self.kind,
            "type": self.type,
            "file": self.file,
            "line": self.line,
        }


@dataclass
class Project:
    """The streams of a project folder (read once; `reload()` reads it again)."""

    root: Path
    streams: dict[str, StreamInfo] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)  # files that did not parse

    @classmethod
    def load(cls, root: str | Path) -> Project:
        """Read the project at `root`."""
        project = cls(Path(root).resolve())
        if not project.root.is_dir():
            raise ProjectError(f"project folder not found: {root}")
        project.reload()
        return project

    def reload(self) -> None:
        """Read velo.yaml and the SQL files again."""
        self.streams.clear()
        self.errors.clear()
        config = self._config()
        for name, props in (config.get("streams") or {}).items():
            props = {str(k).lower(): str(v) for k, v in (props or {}).items()}
            kind = "sink" if props.get("type", "").lower() in SINK_TYPES else "source"
            self.streams[name.lower()] = StreamInfo(
                name.lower(), kind, props.get("type"), props, PROJECT_FILE
            )
        for path in self._sql_files(config.get("sql")):
            rel = str(path.relative_to(self.root))
            try:
                script = parse_script(path.read_text(encoding="utf-8"), rel)
            except (SqlError, UnicodeDecodeError) as exc:
                self.errors.append(f"{rel}: {exc}")
                continue
            for stmt in script.statements:
                self._add_statement(stmt, rel)

    def _config(self) -> dict[str, Any]:
        path = self.root / PROJECT_FILE
        if not path.exists():
            return {}
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise ProjectError(f"{PROJECT_FILE}: {exc}") from None
        if not isinstance(data, dict):
            raise ProjectError(f"{PROJECT_FILE}: expected a mapping with 'sql' and 'streams'")
        return data

    def _sql_files(self, patterns: Any) -> list[Path]:
        if patterns is None:
            patterns = ["**/*.sql"]
        elif isinstance(patterns, str):
            patterns = [patterns]
        found: set[Path] = set()
        for pattern in patterns:
            for path in self.root.glob(str(pattern)):
                rel_parts = path.relative_to(self.root).parts
                if path.is_file() and not SKIP_DIRS.intersection(rel_parts):
                    found.add(self.inside(path))
        return sorted(found)

    def _add_statement(self, stmt: Statement, rel: str) -> None:
        names = sorted({k.split(".", 1)[0] for k in stmt.properties if k.endswith(".type")})
        per_name, _job = split_properties(stmt.properties, names)
        target = (stmt.name or "").lower()
        for name in names:
            props = per_name[name]
            ctype = props.get("type", "").lower()
            kind = "sink" if name == target and ctype in SINK_TYPES else "source"
            if name in self.streams and self.streams[name].kind == "source" and kind == "source":
                continue  # the first declaration of a shared source wins
            self.streams[name] = StreamInfo(name, kind, ctype, props, rel, stmt.line)
        if stmt.kind in ("create_stream", "create_table") and target:
            kind = "table" if stmt.kind == "create_table" else "stream"
            sink = self.streams.get(target)
            self.streams[target] = StreamInfo(
                target,
                kind,
                sink.type if sink else None,
                sink.props if sink else {},
                rel,
                stmt.line,
                stmt,
            )

    def get(self, name: str) -> StreamInfo:
        """The stream called `name`, or a ProjectError that lists the known ones."""
        info = self.streams.get(name.lower())
        if info is None:
            known = ", ".join(sorted(self.streams)) or "none"
            raise ProjectError(f"unknown stream '{name}' (known streams: {known})")
        return info

    def inside(self, path: str | Path) -> Path:
        """`path` (relative to the project, or absolute) resolved, if it is inside the project;
        a ProjectError otherwise (also for symlinks that point out of it)."""
        p = Path(path)
        resolved = (p if p.is_absolute() else self.root / p).resolve()
        if resolved != self.root and self.root not in resolved.parents:
            raise ProjectError(f"path '{path}' is outside the project folder {self.root}")
        return resolved
