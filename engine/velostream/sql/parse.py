"""Parse Velostream SQL scripts into `Statement`s, with annotations and located errors."""

from __future__ import annotations

from collections.abc import Sequence

from sqlglot import exp
from sqlglot.errors import ErrorLevel, ParseError, TokenError
from sqlglot.parser import Parser
from sqlglot.tokens import Token, TokenType

from velostream.errors import SqlError
from velostream.sql.annotations import attach_annotations
from velostream.sql.ast import Describe, Explain, Script, Show, Statement
from velostream.sql.dialect import VeloParseError, Velostream
from velostream.sql.source import SourceText

_DIALECT = Velostream()


def parse_script(text: str, path: str | None = None) -> Script:
    """Parse every `;`-separated statement of `text`; raise `SqlError` on the first bad one."""
    src = SourceText(text, path)
    tokens = _tokenize(src)
    statements: list[Statement] = []
    parser = _DIALECT.parser(error_level=ErrorLevel.IMMEDIATE)
    for chunk, terminator in _split(tokens):
        expression = _parse_chunk(parser, src, chunk, terminator)
        statements.append(_statement(expression, src, chunk))
    warnings = attach_annotations(src, tokens, statements)
    for stmt in statements:
        stmt.path = path
    return Script(statements=statements, warnings=warnings)


def parse_statement(text: str, path: str | None = None) -> Statement:
    """Parse a text holding exactly one statement (a trailing `;` is allowed)."""
    script = parse_script(text, path)
    if len(script.statements) != 1:
        src = SourceText(text, path)
        if not script.statements:
            raise SqlError(
                "expected a statement, found nothing",
                line=1,
                col=1,
                expected=["a statement"],
                source_line=src.line_text(1),
                path=path,
            )
        second = script.statements[1]
        raise SqlError(
            "expected exactly one statement, found a second one",
            line=second.line,
            col=second.col,
            token=second.sql.split(None, 1)[0],
            expected=["end of input"],
            source_line=src.line_text(second.line),
            path=path,
        )
    return script.statements[0]


def statement_of(expression: exp.Expr, sql: str = "", line: int = 1, col: int = 1) -> Statement:
    """A `Statement` for an already-parsed expression (kind, name, query, properties)."""
    if isinstance(expression, Explain):
        inner = statement_of(expression.this, sql, line, col)
        return Statement(
            kind="explain",
            expression=expression,
            sql=sql,
            line=line,
            col=col,
            query=inner.query,
            name=inner.name,
            properties=dict(inner.properties),
            explained=inner,
        )
    kind: str
    name: str | None = None
    query: exp.Expr | None = None
    props: dict[str, str] = {}
    if isinstance(expression, exp.Create):
        kind = (
            "create_stream"
            if str(expression.args.get("kind")).upper() == "STREAM"
            else "create_table"
        )
        name = _table_name(expression.this)
        query = expression.expression
        props.update(properties_dict(expression.args.get("properties")))
    elif isinstance(expression, exp.Insert):
        kind = "insert"
        name = _table_name(expression.this)
        query = expression.expression if isinstance(expression.expression, exp.Query) else None
    elif isinstance(expression, Show):
        kind = "show"
    elif isinstance(expression, Describe):
        kind = "describe"
        name = _table_name(expression.this)
    else:
        kind = "select"
        query = expression
    props.update(properties_dict(_trailing_properties(query)))
    return Statement(
        kind=kind,
        expression=expression,
        sql=sql,
        line=line,
        col=col,
        query=query,  # type: ignore[arg-type]
        name=name,
        properties=props,
    )


def properties_dict(properties: exp.Expr | None) -> dict[str, str]:
    """`WITH ('K' = 'v', ...)` as a dict with lower-cased keys and unquoted values."""
    out: dict[str, str] = {}
    if properties is None:
        return out
    for prop in properties.expressions:
        key = prop.this.name if isinstance(prop.this, exp.Literal) else prop.this.sql()
        value = prop.args.get("value")
        if isinstance(value, exp.Boolean):
            text = "true" if value.this else "false"
        elif isinstance(value, (exp.Literal, exp.Var)):
            text = value.name
        else:
            text = value.sql() if value is not None else ""
        out[key.lower()] = text
    return out


def _trailing_properties(query: exp.Expr | None) -> exp.Expr | None:
    """The trailing WITH (...) of a query; for UNION etc. it sits on the last SELECT."""
    while isinstance(query, exp.SetOperation):
        query = query.expression
    return query.args.get("properties") if isinstance(query, exp.Select) else None


def _table_name(node: exp.Expr | None) -> str | None:
    if isinstance(node, exp.Schema):
        node = node.this
    if isinstance(node, exp.Table):
        return ".".join(part.name for part in node.parts)
    return None


# ---------------------------------------------------------------- tokens and statements


def _tokenize(src: SourceText) -> list[Token]:
    tokenizer = _DIALECT.tokenizer()
    try:
        return tokenizer.tokenize(src.text)
    except TokenError as err:
        core = getattr(tokenizer, "_core", tokenizer)
        start = int(getattr(core, "_start", 0))
        cause = str(err.__cause__ or err)
        raise _token_error(src, start, cause) from None


def _token_error(src: SourceText, start: int, cause: str) -> SqlError:
    opener = src.text[start : start + 2]
    if opener.startswith("/*"):
        message, expected, token = "unterminated /* comment", ["*/"], "/*"
    elif opener[:1] == "'":
        message, expected, token = "unterminated string", ["'"], "'"
    elif opener[:1] in ('"', "`"):
        message, expected, token = "unterminated quoted name", [opener[:1]], opener[:1]
    elif opener.startswith("$"):
        message, expected, token = "unterminated $-quoted string", ["$"], opener
    else:
        message, expected, token = f"cannot read the SQL text here ({cause})", [], opener[:1]
    line, col = src.position(start)
    return SqlError(
        message,
        line=line,
        col=col,
        token=token,
        expected=expected,
        source_line=src.line_text(line),
        path=src.path,
    )


def _split(tokens: Sequence[Token]) -> list[tuple[list[Token], Token | None]]:
    """Statements' tokens, split at top-level `;` (empty statements dropped)."""
    chunks: list[tuple[list[Token], Token | None]] = []
    current: list[Token] = []
    for token in tokens:
        if token.token_type == TokenType.SEMICOLON:
            if current:
                chunks.append((current, token))
            current = []
        else:
            current.append(token)
    if current:
        chunks.append((current, None))
    return chunks


def _parse_chunk(
    parser: Parser, src: SourceText, chunk: list[Token], terminator: Token | None
) -> exp.Expr:
    try:
        expressions = parser.parse(chunk, src.text)
    except VeloParseError as err:
        raise _parse_error(src, err, chunk, terminator) from None
    except ParseError as err:  # defensive: sqlglot errors not routed through raise_error
        info = err.errors[0] if err.errors else {}
        line = int(info.get("line") or 1)
        raise SqlError(
            str(info.get("description") or err),
            line=line,
            col=int(info.get("col") or 1),
            source_line=src.line_text(line),
            path=src.path,
        ) from None
    expression = expressions[0] if expressions else None
    if expression is None:
        first = chunk[0]
        line, col = src.position(first.start)
        raise SqlError(
            "expected a statement",
            line=line,
            col=col,
            token=src.token_text(first),
            expected=["SELECT"],
            source_line=src.line_text(line),
            path=src.path,
        )
    return expression


def _statement(expression: exp.Expr, src: SourceText, chunk: list[Token]) -> Statement:
    first, last = chunk[0], chunk[-1]
    line, col = src.position(first.start)
    stmt = statement_of(expression, src.text[first.start : last.end + 1], line, col)
    if stmt.explained is not None and len(chunk) > 1:
        # The explained statement gets its own text and position (after the EXPLAIN keyword).
        inner = _statement(expression.this, src, chunk[1:])
        stmt.explained = inner
        stmt.query = inner.query
    return stmt


# ---------------------------------------------------------------- error translation

_SQLGLOT_MESSAGES = {
    "Required keyword": "expected an expression",
    "Expected an expression": "expected an expression",
    "Expected table name": "expected the name of a source",
    "Expected END after CASE": "CASE without END",
    "Invalid expression / Unexpected token": "unexpected text after the end of the statement "
    "(a missing ';'?)",
}


def _humanize(description: str) -> str:
    for prefix, message in _SQLGLOT_MESSAGES.items():
        if description.startswith(prefix):
            return message
    if description.startswith("Found multiple "):
        clause = description[len("Found multiple ") :].replace("clauses", "").strip(" '")
        return f"found a second {clause} clause"
    if description.startswith("Expecting "):
        return f"expected '{description[len('Expecting ') :].strip()}'"
    return description


def _parse_error(
    src: SourceText, err: VeloParseError, chunk: list[Token], terminator: Token | None
) -> SqlError:
    message = _humanize(err.description)
    if err.at_end:
        if terminator is not None:
            offset, token, found = terminator.start, ";", "';'"
        else:
            offset, token, found = err.token.end + 1, "", "the end of the input"
        line, col = src.position(offset)
    else:
        line, col = src.position(err.token.start)
        token = src.token_text(err.token)
        found = token if token[:1] in ("'", '"', "`") else f"'{token}'"
    if token and (f"'{token}'" in message or token in message.split()):
        found = ""
    return SqlError(
        f"{message}; found {found}" if found else message,
        line=line,
        col=col,
        token=token,
        expected=err.expected,
        source_line=src.line_text(line),
        path=src.path,
    )
