"""The Velostream SQL dialect: Postgres plus streaming clauses, as a sqlglot `Dialect` subclass.

Tokenizer, parser and generator sit side by side in sqlglot style. Registering the class makes
``sqlglot.parse_one(sql, read="velostream")`` and ``expr.sql(dialect="velostream")`` work.
The nodes it adds are described in `velostream.sql.ast`. Beyond that contract:

- ``select.args["properties"]``: the trailing ``WITH ('k' = 'v', ...)`` as ``exp.Properties`` of
  ``exp.Property(this=Literal.string(key), value=Literal | Boolean | Var)``; ``CREATE .. WITH
  (...) AS`` puts the same shape in ``create.args["properties"]``. `velostream.sql.parse.
  properties_dict` turns either into ``dict[str, str]``.
- ``CREATE STREAM|TABLE`` is an ``exp.Create`` with ``kind`` "STREAM" or "TABLE", ``this`` an
  ``exp.Table`` (or ``exp.Schema`` with a column list) and ``expression`` the query.
- A buffer window (``OVER (ROWS WINDOW BUFFER n ROWS ...)``) also has ``buffer_rows`` (a number
  literal), and optionally ``emit`` (`Emit`) and ``expire`` (`Duration`, or ``exp.Var("NEVER")``)
  from ``EMIT ..`` / ``EXPIRE AFTER ..`` inside the parentheses. An explicit frame written after
  the buffer replaces the default ``spec``.
- Unknown function calls are ``exp.Anonymous`` with an upper-case name; Velostream functions whose
  Postgres reading differs (DATEDIFF, JSON_EXTRACT, REGEXP) stay anonymous too.
- Tokens keep their offsets in the whole script, so identifiers, columns and function calls carry
  ``meta`` positions (``line``, ``col``, ``start``, ``end``) usable for name errors. Note that
  sqlglot's ``col`` is the token's LAST column; ``SourceText(script).position(meta["start"])``
  (`velostream.sql.source`) gives the 1-based line and first column for a caret.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from sqlglot import exp
from sqlglot.dialects.postgres import Postgres
from sqlglot.errors import ErrorLevel, ParseError
from sqlglot.generators.postgres import PostgresGenerator
from sqlglot.helper import csv
from sqlglot.parsers.postgres import PostgresParser
from sqlglot.tokens import Token, TokenType

from velostream.sql.ast import (
    Describe,
    Duration,
    Emit,
    Explain,
    PrimaryKey,
    Show,
    StreamWindow,
)
from velostream.sql.durations import (
    LONG_UNIT_NAMES,
    SHORT_UNIT_NAMES,
    format_millis,
    to_millis,
    unit_millis,
)

WINDOW_KINDS = ("TUMBLING", "SLIDING", "HOPPING", "SESSION")
EMIT_MODES = ("CHANGES", "FINAL")
SHOW_KINDS = ("STREAMS", "TABLES", "JOBS", "FUNCTIONS")
STATEMENT_STARTS = ["SELECT", "CREATE", "INSERT", "SHOW", "DESCRIBE", "EXPLAIN", "WITH"]
DURATION = "a duration"
DURATION_HINT = "such as 5m, 30s, 500ms or INTERVAL '5' MINUTE"

URI_SCHEMES = ("kafka", "file")
_URI_STOP = {TokenType.R_PAREN, TokenType.COMMA, TokenType.SEMICOLON}

# Token types that can never be a word (unit, property name, emit mode, ...).
_PUNCTUATION = {
    TokenType.L_PAREN,
    TokenType.R_PAREN,
    TokenType.COMMA,
    TokenType.DOT,
    TokenType.EQ,
    TokenType.SEMICOLON,
    TokenType.STRING,
    TokenType.NUMBER,
    TokenType.IDENTIFIER,
    TokenType.STAR,
}


class VeloParseError(ParseError):
    """A parse failure that remembers the offending token and what was expected there."""

    def __init__(
        self, message: str, token: Token, expected: Sequence[str] = (), at_end: bool = False
    ) -> None:
        super().__init__(
            message,
            [{"description": message, "line": token.line, "col": token.col}],
        )
        self.description = message
        self.token = token
        self.expected = list(expected)
        self.at_end = at_end


def _is_word(token: Token | None) -> bool:
    """True for a bare word (keyword or unquoted name), never punctuation or a literal."""
    if not token or token.token_type in _PUNCTUATION:
        return False
    first = token.text[:1]
    return first.isalpha() or first == "_"


def expected_for(message: str) -> list[str]:
    """A short `expected` list for one of sqlglot's own error messages."""
    if message.startswith("Expecting "):
        return [message[len("Expecting ") :].strip()]
    if message.startswith("Expected END"):
        return ["END"]
    if message.startswith("Required keyword") or message.startswith("Expected an expression"):
        return ["an expression"]
    if message.startswith("Expected table name"):
        return ["a table name"]
    if message.startswith("Invalid expression / Unexpected token"):
        return [";"]
    return []


class VelostreamParser(PostgresParser):
    """Postgres parser plus WINDOW TUMBLING|SLIDING|HOPPING|SESSION, EMIT, WITH (...), etc."""

    # Velostream functions whose Postgres meaning differs: keep them as plain calls by name.
    FUNCTIONS = {
        k: v
        for k, v in PostgresParser.FUNCTIONS.items()
        if k not in ("DATEDIFF", "DATE_DIFF", "JSON_EXTRACT")
    }

    # JOIN(array, sep) is a Velostream string function as well as the join keyword.
    FUNC_TOKENS = {*PostgresParser.FUNC_TOKENS, TokenType.JOIN}

    QUERY_MODIFIER_PARSERS = {
        **PostgresParser.QUERY_MODIFIER_PARSERS,
        TokenType.WINDOW: lambda self: self._parse_window_modifier(),
    }

    # ---------------------------------------------------------------- errors

    def raise_error(self, message: str, token: Token | None = None) -> None:  # type: ignore[override]
        """Raise (or record) an error that keeps the offending token for the caret."""
        if message.startswith("Expected END after CASE"):
            token = None  # sqlglot points at the token before; END was expected at the current one
        tok, at_end = self._error_token(token)
        if self.error_level == ErrorLevel.IMMEDIATE:
            raise VeloParseError(message, tok, expected_for(message), at_end)
        super().raise_error(message, tok)

    def _velo_error(
        self, message: str, expected: Sequence[str] = (), token: Token | None = None
    ) -> None:
        """Always raise: used by the dialect's own checks."""
        tok, at_end = self._error_token(token)
        raise VeloParseError(message, tok, expected, at_end)

    def _error_token(self, token: Token | None) -> tuple[Token, bool]:
        """The token an error points at, and whether it is really the end of the statement."""
        if token is None:
            token = self._curr
        if token:
            return token, False
        # sqlglot's end-of-input sentinel is falsy; point after the statement's last token.
        last = self._tokens[-1] if self._tokens else Token.string("")
        return last, True

    def _expect_text(self, word: str, message: str | None = None) -> Token:
        """Consume the bare word `word` (any case) or fail."""
        if self._curr and _is_word(self._curr) and self._curr.text.upper() == word:
            self._advance()
            return self._prev
        self._velo_error(message or f"expected {word}", [word])
        raise AssertionError("unreachable")

    def _expect_type(self, token_type: TokenType, shown: str, message: str | None = None) -> Token:
        """Consume a token of `token_type` or fail, naming it as `shown`."""
        if self._match(token_type):
            return self._prev
        self._velo_error(message or f"expected '{shown}'", [shown])
        raise AssertionError("unreachable")

    # ---------------------------------------------------------------- statements

    def _parse_statement(self) -> exp.Expr | None:
        if not self._curr:
            return None
        tok = self._curr
        ttype = tok.token_type
        word = tok.text.upper()

        if ttype == TokenType.CREATE:
            self._advance()
            return self._parse_velo_create()
        if ttype == TokenType.SHOW:
            self._advance()
            return self._parse_velo_show()
        if ttype == TokenType.DESCRIBE:
            self._advance()
            return self._parse_velo_describe()
        if ttype == TokenType.VAR and word == "EXPLAIN":
            self._advance()
            if not self._curr:
                self._velo_error("EXPLAIN needs a statement to explain", STATEMENT_STARTS[:-1])
            return self.expression(Explain(this=self._parse_statement()))
        if ttype == TokenType.INSERT:
            return self._parse_velo_insert()
        if ttype in (TokenType.SELECT, TokenType.WITH, TokenType.L_PAREN):
            return self._parse_velo_query()

        self._velo_error(f"unknown statement starting with '{tok.text}'", STATEMENT_STARTS)
        return None

    def _parse_velo_query(self) -> exp.Expr:
        """A query statement: SELECT, WITH .. SELECT, (SELECT ..), set operations."""
        start = self._curr
        query = super()._parse_statement()
        if not isinstance(query, exp.Query):
            self._velo_error("expected a query", ["SELECT"], token=start)
        return query  # type: ignore[return-value]

    def _parse_velo_insert(self) -> exp.Expr:
        start = self._curr
        insert = super()._parse_statement()
        if not isinstance(insert, exp.Insert):
            self._velo_error("expected INSERT INTO name SELECT ...", ["INSERT INTO"], token=start)
        if insert.expression is None:  # type: ignore[union-attr]
            self._velo_error("INSERT INTO needs a SELECT (or VALUES)", ["SELECT", "VALUES"])
        return insert  # type: ignore[return-value]

    def _parse_velo_create(self) -> exp.Create:
        replace = self._match_pair(TokenType.OR, TokenType.REPLACE)
        kind_tok = self._curr
        if not _is_word(kind_tok) or kind_tok.text.upper() not in ("STREAM", "TABLE"):
            self._velo_error("expected CREATE STREAM or CREATE TABLE", ["STREAM", "TABLE"])
        kind = kind_tok.text.upper()
        self._advance()
        exists = self._match_text_seq("IF", "NOT", "EXISTS")

        name_tok = self._curr
        table = (
            self._parse_table_parts(schema=True)
            if _is_word(name_tok) or self._is_quoted_name()
            else None
        )
        if table is None:
            self._velo_error(f"CREATE {kind} needs a name", ["a name"])
        this: exp.Expr = table
        if self._curr and self._curr.token_type == TokenType.L_PAREN:
            this = self._parse_schema(this=table)

        properties = None
        if self._curr and self._curr.token_type == TokenType.WITH:
            self._advance()
            if not self._curr or self._curr.token_type != TokenType.L_PAREN:
                self._velo_error("expected a property list after WITH", ["("])
            properties = self._parse_velo_properties()

        if not self._match(TokenType.ALIAS):
            expected = ["AS"] if properties else ["AS", "WITH"]
            self._velo_error(f"CREATE {kind} needs AS SELECT ...", expected)
        if not self._curr or self._curr.token_type not in (
            TokenType.SELECT,
            TokenType.WITH,
            TokenType.L_PAREN,
        ):
            self._velo_error(f"CREATE {kind} .. AS needs a SELECT", ["SELECT"])
        query = self._parse_velo_query()
        return self.expression(
            exp.Create(
                this=this,
                kind=kind,
                expression=query,
                properties=properties,
                replace=replace or None,
                exists=exists or None,
            )
        )

    def _is_quoted_name(self) -> bool:
        return self._curr and self._curr.token_type == TokenType.IDENTIFIER

    def _parse_velo_show(self) -> Show:
        tok = self._curr
        if not _is_word(tok) or tok.text.upper() not in SHOW_KINDS:
            self._velo_error("SHOW what?", list(SHOW_KINDS))
        self._advance()
        return self.expression(Show(this=tok.text.upper()))

    def _parse_velo_describe(self) -> Describe:
        table = (
            self._parse_table_parts() if _is_word(self._curr) or self._is_quoted_name() else None
        )
        if table is None:
            self._velo_error("DESCRIBE needs the name of a stream or table", ["a name"])
        return self.expression(Describe(this=table))

    # ---------------------------------------------------------------- select list

    def _parse_projections(self) -> tuple[list[exp.Expr], list[exp.Expr] | None]:
        items: list[exp.Expr] = []
        while True:
            item = self._parse_expression()
            if item is None:
                self._velo_error("expected a select item", ["an expression"])
            if self._match(TokenType.PRIMARY_KEY):
                item = self.expression(PrimaryKey(this=item))
            items.append(item)
            if not self._match(TokenType.COMMA):
                return items, None

    # ---------------------------------------------------------------- FROM / JOIN

    def _parse_table(
        self,
        schema: bool = False,
        joins: bool = False,
        alias_tokens: Collection[TokenType] | None = None,
        parse_bracket: bool = False,
        is_db_reference: bool = False,
        parse_partition: bool = False,
        consume_pipe: bool = False,
    ) -> exp.Expr | None:
        uri = None if schema or is_db_reference else self._parse_uri_source()
        if uri is not None:
            alias = self._parse_table_alias(alias_tokens or self.TABLE_ALIAS_TOKENS)
            if alias:
                uri.set("alias", alias)
            return uri
        return super()._parse_table(
            schema=schema,
            joins=joins,
            alias_tokens=alias_tokens,
            parse_bracket=parse_bracket,
            is_db_reference=is_db_reference,
            parse_partition=parse_partition,
            consume_pipe=consume_pipe,
        )

    def _parse_uri_source(self) -> exp.Table | None:
        """`FROM kafka://topic`, `FROM file:///data/x.json` or `FROM 'kafka://host:9092/t'`.

        The URI becomes a table whose name is a quoted identifier holding the whole URI.
        """
        cur = self._curr
        if not cur:
            return None
        if cur.token_type == TokenType.STRING and "://" in cur.text:
            self._advance()
            return self.expression(exp.Table(this=exp.to_identifier(cur.text, quoted=True)))
        nxt = self._next
        if not (
            cur.text.lower() in URI_SCHEMES
            and nxt
            and nxt.token_type == TokenType.COLON
            and nxt.start == cur.end + 1
        ):
            return None
        last = cur
        self._advance()
        # The URI runs until the first white space (or a closing bracket, comma or ';').
        while (
            self._curr
            and self._curr.start == last.end + 1
            and self._curr.token_type not in _URI_STOP
        ):
            last = self._curr
            self._advance()
        uri = self.sql[cur.start : last.end + 1]
        return self.expression(exp.Table(this=exp.to_identifier(uri, quoted=True)))

    def _parse_table_hints(self) -> list[exp.Expr] | None:
        # No table hints in Velostream: `FROM t WITH (...)` is the trailing property list.
        return None

    def _parse_table_alias(
        self, alias_tokens: Collection[TokenType] | None = None
    ) -> exp.TableAlias | None:
        cur = self._curr
        if cur and cur.token_type == TokenType.VAR:
            word = cur.text.upper()
            # EMIT and WITHIN start streaming clauses; never read them as a table alias.
            if word == "EMIT":
                return None
            if (
                word == "WITHIN"
                and self._next
                and self._next.token_type
                in (
                    TokenType.NUMBER,
                    TokenType.INTERVAL,
                )
            ):
                return None
        return super()._parse_table_alias(alias_tokens)

    def _parse_join(
        self,
        skip_join_token: bool = False,
        parse_bracket: bool = False,
        alias_tokens: Collection[TokenType] | None = None,
    ) -> exp.Join | None:
        cur = self._curr
        if (
            cur
            and cur.token_type == TokenType.FULL
            and self._next
            and self._next.token_type == TokenType.JOIN
        ):
            self._velo_error("FULL JOIN must be written FULL OUTER JOIN", ["OUTER"], self._next)
        comma = bool(cur) and cur.token_type == TokenType.COMMA
        join = super()._parse_join(skip_join_token, parse_bracket, alias_tokens)
        if (
            join is not None
            and not comma
            and join.args.get("kind") != "CROSS"
            and not (join.args.get("on") or join.args.get("using"))
        ):
            self._velo_error("a JOIN needs an ON condition", ["ON"])
        if join is not None and self._curr and self._curr.text.upper() == "WITHIN":
            if self._curr.token_type == TokenType.VAR:
                self._advance()
                join.set("within", self._parse_duration())
        return join

    # ---------------------------------------------------------------- clauses

    def _parse_query_modifiers(self, this: Any) -> Any:
        this = super()._parse_query_modifiers(this)
        if not isinstance(this, exp.Select):
            return this
        while self._curr:
            cur = self._curr
            if cur.token_type == TokenType.VAR and cur.text.upper() == "EMIT":
                if this.args.get("emit"):
                    self._velo_error("found a second EMIT clause", [";"])
                self._advance()
                mode = self._curr
                if not _is_word(mode) or mode.text.upper() not in EMIT_MODES:
                    self._velo_error("EMIT must be followed by CHANGES or FINAL", list(EMIT_MODES))
                self._advance()
                this.set("emit", self.expression(Emit(this=mode.text.upper())))
            elif (
                cur.token_type == TokenType.WITH
                and self._next
                and self._next.token_type == TokenType.L_PAREN
            ):
                if this.args.get("properties"):
                    self._velo_error("found a second WITH (...) property list", [";"])
                self._advance()
                this.set("properties", self._parse_velo_properties())
            else:
                break
            if self._match_set(self.QUERY_MODIFIER_PARSERS, advance=False):
                this = super()._parse_query_modifiers(this)
        return this

    def _parse_limit(
        self,
        this: exp.Expr | None = None,
        top: bool = False,
        skip_limit_token: bool = False,
    ) -> exp.Expr | None:
        cur = self._curr
        if not top and not skip_limit_token and cur and cur.token_type == TokenType.LIMIT:
            count = self._next
            if not count or count.token_type != TokenType.NUMBER or not count.text.isdigit():
                self._velo_error(
                    "LIMIT needs a whole number of rows",
                    ["a row count"],
                    count,
                )
        return super()._parse_limit(this, top, skip_limit_token)

    def _parse_group(self, skip_group_by_token: bool = False) -> exp.Group | None:
        group = super()._parse_group(skip_group_by_token)
        if group is not None and not any(v for v in group.args.values()):
            self._velo_error("GROUP BY needs at least one expression", ["an expression"])
        return group

    # ---------------------------------------------------------------- WITH ('k' = 'v', ...)

    def _parse_velo_properties(self) -> exp.Properties:
        """`( key = value, ... )`: keys quoted strings (or names), values strings/numbers/booleans."""
        self._expect_type(TokenType.L_PAREN, "(")
        props: list[exp.Expr] = []
        seen: set[str] = set()
        if self._curr and self._curr.token_type == TokenType.R_PAREN:
            self._velo_error("empty property list", ["a property name"])
        while True:
            key_tok = self._curr
            key = self._parse_velo_property_key()
            if key.lower() in seen:
                self._velo_error(f"property '{key}' is given twice", [], key_tok)
            seen.add(key.lower())
            if not self._match(TokenType.EQ):
                self._velo_error(f"property '{key}' needs a value: '{key}' = ...", ["="])
            value = self._parse_velo_property_value()
            props.append(self.expression(exp.Property(this=exp.Literal.string(key), value=value)))
            if self._match(TokenType.COMMA):
                continue
            if self._match(TokenType.R_PAREN):
                return self.expression(exp.Properties(expressions=props))
            self._velo_error("expected ',' or ')' in the property list", [",", ")"])

    def _parse_velo_property_key(self) -> str:
        tok = self._curr
        if tok and tok.token_type in (TokenType.STRING, TokenType.IDENTIFIER):
            self._advance()
            return tok.text
        if not _is_word(tok):
            self._velo_error("expected a property name such as 'orders.type'", ["a property name"])
        parts = [tok.text]
        self._advance()
        while self._curr and self._curr.token_type == TokenType.DOT and _is_word(self._next):
            parts.append(self._next.text)
            self._advance(2)
        return ".".join(parts)

    def _parse_velo_property_value(self) -> exp.Expr:
        tok = self._curr
        if not tok:
            self._velo_error("expected a property value", ["a value"])
        if tok.token_type in (TokenType.STRING, TokenType.IDENTIFIER):
            self._advance()
            return exp.Literal.string(tok.text)
        if tok.token_type == TokenType.NUMBER:
            self._advance()
            return exp.Literal.number(tok.text)
        if (
            tok.token_type == TokenType.DASH
            and self._next
            and self._next.token_type == TokenType.NUMBER
        ):
            self._advance(2)
            return exp.Literal.number(f"-{self._prev.text}")
        if tok.token_type in (TokenType.TRUE, TokenType.FALSE):
            self._advance()
            return exp.Boolean(this=tok.token_type == TokenType.TRUE)
        if _is_word(tok) and tok.token_type not in (TokenType.R_PAREN, TokenType.WITH):
            self._advance()
            return exp.Var(this=tok.text)
        self._velo_error(
            "expected a property value (a quoted string, number or boolean)", ["a value"]
        )
        raise AssertionError("unreachable")

    # ---------------------------------------------------------------- durations

    def _at_duration(self) -> bool:
        cur = self._curr
        return cur and cur.token_type in (TokenType.NUMBER, TokenType.INTERVAL)

    def _parse_duration(self) -> Duration:
        """`5m`, `500ms`, `1 MINUTE`, `INTERVAL '5' MINUTE`, `INTERVAL 5 MINUTES`, `INTERVAL '5 minutes'`."""
        tok = self._curr
        if not tok or tok.token_type not in (TokenType.NUMBER, TokenType.INTERVAL):
            self._velo_error(f"expected a duration {DURATION_HINT}", [DURATION])
        if tok.token_type == TokenType.INTERVAL:
            self._advance()
            value = self._curr
            if value and value.token_type == TokenType.STRING:
                parts = value.text.split()
                if len(parts) == 2:
                    self._advance()
                    return self._make_duration(parts[0], parts[1], value, value)
                if len(parts) == 1:
                    self._advance()
                    return self._make_duration(parts[0], self._take_unit(long_only=True), value)
                self._velo_error("expected INTERVAL 'n' UNIT", ["a number"], value)
            if value and value.token_type == TokenType.NUMBER:
                self._advance()
                return self._make_duration(value.text, self._take_unit(long_only=True), value)
            self._velo_error("expected the amount of the INTERVAL", ["a number"])
        self._advance()
        return self._make_duration(tok.text, self._take_unit(long_only=False), tok)

    def _take_unit(self, long_only: bool) -> Token:
        unit = self._curr
        names = LONG_UNIT_NAMES if long_only else SHORT_UNIT_NAMES
        if not _is_word(unit):
            self._velo_error(f"expected a time unit {DURATION_HINT}", names)
        if long_only:
            known = unit_millis(unit.text) is not None and len(unit.text) > 2
        else:
            known = unit_millis(unit.text) is not None
        if not known:
            self._velo_error(f"unknown time unit '{unit.text}'", names, unit)
        self._advance()
        return unit

    def _make_duration(
        self, amount: str, unit: Token | str, at: Token, unit_tok: Token | None = None
    ) -> Duration:
        unit_text = unit.text if isinstance(unit, Token) else unit
        if isinstance(unit, str) and unit_millis(unit) is None:
            self._velo_error(f"unknown time unit '{unit}'", LONG_UNIT_NAMES, unit_tok or at)
        ms = to_millis(amount, unit_text)
        if ms is None:
            self._velo_error(
                f"'{amount} {unit_text}' is not a whole number of milliseconds", [DURATION], at
            )
        if ms <= 0:
            self._velo_error("a duration must be greater than zero", [DURATION], at)
        return self.expression(Duration(this=ms))

    # ---------------------------------------------------------------- WINDOW clause

    def _token_at(self, offset: int) -> Token | None:
        i = self._index + offset
        return self._tokens[i] if i < len(self._tokens) else None

    def _parse_window_modifier(self) -> tuple[str, Any]:
        """WINDOW TUMBLING|SLIDING|HOPPING|SESSION(...), or the standard `WINDOW w AS (...)`."""
        kind_tok = self._token_at(1)
        after = self._token_at(2)
        if not kind_tok:
            self._advance()
            self._velo_error("WINDOW needs a window type", list(WINDOW_KINDS))
        is_kind = _is_word(kind_tok) and kind_tok.text.upper() in WINDOW_KINDS
        if is_kind and (not after or after.token_type != TokenType.ALIAS):
            self._advance(2)
            if not after or after.token_type != TokenType.L_PAREN:
                self._velo_error(f"expected '(' after {kind_tok.text.upper()}", ["("])
            return "stream_window", self._parse_stream_window(kind_tok.text.upper())
        if kind_tok.token_type == TokenType.L_PAREN or (
            after and after.token_type == TokenType.L_PAREN
        ):
            self._velo_error(f"unknown window type '{kind_tok.text}'", list(WINDOW_KINDS), kind_tok)
        return "windows", self._parse_window_clause()

    def _parse_stream_window(self, kind: str) -> StreamWindow:
        self._expect_type(TokenType.L_PAREN, "(")
        time_column = None
        advance = None
        sliding = kind in ("SLIDING", "HOPPING")
        cur = self._curr
        if cur and cur.text.upper() == "SIZE" and not self._next_is_separator():
            # ksqlDB form: TUMBLING (SIZE 1 MINUTE), HOPPING (SIZE 1 MINUTE, ADVANCE BY 10 SECONDS)
            self._advance()
            size = self._parse_duration()
            if sliding:
                self._expect_type(TokenType.COMMA, ",", f"{kind} needs ADVANCE BY after SIZE")
                self._expect_text("ADVANCE")
                self._match_text_seq("BY")
                advance = self._parse_duration()
        else:
            if not cur or cur.token_type == TokenType.R_PAREN:
                self._velo_error(f"{kind} needs a window size {DURATION_HINT}", [DURATION])
            if not self._at_duration():
                time_column = self._parse_column()
                if not isinstance(time_column, exp.Column):
                    self._velo_error(
                        "expected a time column or a duration", ["a time column", DURATION], cur
                    )
                if self._curr and self._curr.token_type == TokenType.R_PAREN:
                    self._velo_error(f"{kind} needs a window size after the time column", [","])
                self._expect_type(TokenType.COMMA, ",")
            size = self._parse_duration()
            if sliding:
                if self._curr and self._curr.token_type == TokenType.R_PAREN:
                    self._velo_error(f"{kind} needs (size, advance)", [","])
                self._expect_type(TokenType.COMMA, ",")
                advance = self._parse_duration()
            elif kind == "SESSION" and self._match(TokenType.COMMA):
                # Velostream parses a partition key here and never uses it; sessions are per
                # GROUP BY key in this engine, so the argument is accepted and dropped.
                self._parse_csv(self._parse_column)
        self._expect_type(TokenType.R_PAREN, ")")
        return self.expression(
            StreamWindow(
                this="SLIDING" if sliding else kind,
                time_column=time_column,
                size=size,
                advance=advance,
                hopping=True if kind == "HOPPING" else None,
            )
        )

    def _next_is_separator(self) -> bool:
        nxt = self._next
        return not nxt or nxt.token_type in (TokenType.COMMA, TokenType.R_PAREN, TokenType.DOT)

    # ---------------------------------------------------------------- OVER (ROWS WINDOW BUFFER n ROWS)

    def _parse_partition_and_order(self) -> tuple[list[exp.Expr], exp.Expr | None]:
        cur = self._curr
        if cur and cur.token_type == TokenType.ROWS and self._next.text.upper() == "BUFFER":
            self._velo_error("expected ROWS WINDOW BUFFER n ROWS", ["WINDOW"], self._next)
        if cur and cur.token_type == TokenType.ROWS and self._next.token_type == TokenType.WINDOW:
            self._advance(2)
            self._expect_text("BUFFER", "expected ROWS WINDOW BUFFER n ROWS")
            count = self._curr
            if not count or count.token_type != TokenType.NUMBER or not count.text.isdigit():
                self._velo_error("expected the number of rows to buffer", ["a row count"])
            self._advance()
            self._expect_type(TokenType.ROWS, "ROWS", "expected ROWS after the buffer size")
            self._velo_buffers().append({"rows": int(count.text)})
        return super()._parse_partition_and_order()

    def _velo_buffers(self) -> list[dict[str, Any]]:
        """The ROWS WINDOW BUFFER clauses being parsed (innermost last)."""
        buffers = self.__dict__.get("_buffers")
        if buffers is None:
            buffers = self.__dict__["_buffers"] = []
        return buffers

    def _match_r_paren(self, expression: exp.Expr | None = None) -> None:
        buffers = self._velo_buffers()
        cur = self._curr
        if buffers and cur and cur.token_type == TokenType.VAR:
            # The end of OVER (ROWS WINDOW BUFFER ...) may carry EMIT and EXPIRE AFTER.
            word = cur.text.upper()
            if word == "EMIT" and "emit" not in buffers[-1]:
                self._advance()
                mode = self._curr
                if not _is_word(mode) or mode.text.upper() not in EMIT_MODES:
                    self._velo_error("EMIT must be followed by CHANGES or FINAL", list(EMIT_MODES))
                self._advance()
                buffers[-1]["emit"] = self.expression(Emit(this=mode.text.upper()))
                cur = self._curr
                word = cur.text.upper() if cur else ""
            if word == "EXPIRE":
                self._advance()
                self._expect_text("AFTER")
                if self._match_text_seq("NEVER"):
                    buffers[-1]["expire"] = exp.var("NEVER")
                else:
                    buffers[-1]["expire"] = self._parse_duration()
                    self._match_text_seq("INACTIVITY")
        super()._match_r_paren(expression)

    def _parse_window(self, this: exp.Expr | None, alias: bool = False) -> exp.Expr | None:
        if isinstance(this, exp.Anonymous) and isinstance(this.this, str):
            # Function names are case-insensitive: unknown ones are kept upper-case.
            this.set("this", this.this.upper())
        cur = self._curr
        if cur and cur.token_type == TokenType.OVER and self._next.token_type == TokenType.ROWS:
            self._velo_error(
                "OVER needs parentheses: OVER (ROWS WINDOW BUFFER n ROWS ...)", ["("], self._next
            )
        depth = len(self._velo_buffers())
        window = super()._parse_window(this, alias)
        buffers = self._velo_buffers()
        if len(buffers) > depth:
            buffer = buffers.pop()
            rows = buffer["rows"]
            if isinstance(window, exp.Window):
                if not window.args.get("spec"):
                    window.set("spec", buffer_spec(rows))
                window.set("buffer", True)
                window.set("buffer_rows", exp.Literal.number(rows))
                window.set("emit", buffer.get("emit"))
                window.set("expire", buffer.get("expire"))
        return window


def buffer_spec(rows: int) -> exp.WindowSpec:
    """`ROWS BETWEEN rows PRECEDING AND CURRENT ROW`, the frame a ROWS WINDOW BUFFER stands for."""
    return exp.WindowSpec(
        kind="ROWS", start=exp.Literal.number(rows), start_side="PRECEDING", end="CURRENT ROW"
    )


def _duration_sql(self: PostgresGenerator, e: Duration) -> str:
    return format_millis(e.millis)


def _stream_window_sql(self: PostgresGenerator, e: StreamWindow) -> str:
    kind = "HOPPING" if e.args.get("hopping") else e.kind
    args = [
        self.sql(e, "time_column"),
        self.sql(e, "size"),
        self.sql(e, "advance"),
    ]
    return f"{kind}({', '.join(a for a in args if a)})"


def _property_sql(self: PostgresGenerator, e: exp.Property) -> str:
    key = e.this.name if isinstance(e.this, exp.Literal) else self.sql(e, "this")
    return f"{self.sql(exp.Literal.string(key))} = {self.sql(e, 'value')}"


def _properties_sql(self: PostgresGenerator, e: exp.Properties) -> str:
    return f"WITH ({', '.join(_property_sql(self, p) for p in e.expressions)})"


class VelostreamGenerator(PostgresGenerator):
    """Prints the canonical Velostream form (WINDOW after GROUP BY; EMIT then WITH last)."""

    SINGLE_STRING_INTERVAL = False

    TYPE_MAPPING = {**PostgresGenerator.TYPE_MAPPING, exp.DType.DATETIME: "DATETIME"}

    TRANSFORMS = {
        **PostgresGenerator.TRANSFORMS,
        Duration: _duration_sql,
        StreamWindow: _stream_window_sql,
        Emit: lambda self, e: f"EMIT {e.name.upper()}",
        PrimaryKey: lambda self, e: f"{self.sql(e, 'this')} PRIMARY KEY",
        Show: lambda self, e: f"SHOW {e.name.upper()}",
        Describe: lambda self, e: f"DESCRIBE {self.sql(e, 'this')}",
        Explain: lambda self, e: f"EXPLAIN {self.sql(e, 'this')}",
        # Print Velostream's own spellings where Postgres would rewrite the call.
        exp.Median: lambda self, e: self.func("MEDIAN", e.this),
        exp.ApproxDistinct: lambda self, e: self.func("APPROX_COUNT_DISTINCT", e.this),
        exp.ArrayContains: lambda self, e: self.func("ARRAY_CONTAINS", e.this, e.expression),
        exp.ArraySize: lambda self, e: self.func("ARRAY_LENGTH", e.this, e.expression),
        exp.Substring: lambda self, e: self.func(
            "SUBSTRING", e.this, e.args.get("start"), e.args.get("length")
        ),
        exp.StrPosition: lambda self, e: self.func("POSITION", e.args.get("substr"), e.this),
        exp.GroupConcat: lambda self, e: self.func(
            "STRING_AGG" if e.args.get("separator") else "GROUP_CONCAT",
            e.this,
            e.args.get("separator"),
        ),
    }

    def query_modifiers(self, expression: exp.Expr, *sqls: str) -> str:
        """Standard modifiers with the stream window, EMIT and WITH (...) in canonical places."""
        streaming = ("stream_window", "emit", "properties")
        if not isinstance(expression, exp.Select) or not any(
            expression.args.get(k) for k in streaming
        ):
            return super().query_modifiers(expression, *sqls)
        limit = expression.args.get("limit")
        if isinstance(limit, exp.Fetch):
            count = limit.args.get("count")
            limit = exp.Limit(expression=exp.maybe_copy(count) if count else exp.Literal.number(1))
        window = expression.args.get("stream_window")
        emit = expression.args.get("emit")
        props = expression.args.get("properties")
        return csv(
            *sqls,
            *[self.sql(join) for join in expression.args.get("joins") or []],
            self.sql(expression, "match"),
            *[self.sql(lateral) for lateral in expression.args.get("laterals") or []],
            self.sql(expression, "prewhere"),
            self.sql(expression, "where"),
            self.sql(expression, "connect"),
            self.sql(expression, "group"),
            self.seg(f"WINDOW {self.sql(window)}") if window else "",
            self.sql(expression, "having"),
            *[gen(self, expression) for gen in self.AFTER_HAVING_MODIFIER_TRANSFORMS.values()],
            self.sql(expression, "order"),
            *self.offset_limit_modifiers(expression, False, limit),
            *self.after_limit_modifiers(expression),
            self.sql(expression, "for_"),
            self.options_modifier(expression),
            self.seg(self.sql(emit)) if emit else "",
            self.seg(_properties_sql(self, props)) if props else "",
            sep="",
        )

    def join_sql(self, expression: exp.Join) -> str:
        """A join, with `WITHIN <duration>` for interval joins."""
        sql = super().join_sql(expression)
        within = expression.args.get("within")
        return f"{sql} WITHIN {self.sql(within)}" if within else sql

    def window_sql(self, expression: exp.Window) -> str:
        """`OVER (ROWS WINDOW BUFFER n ROWS ...)` for buffer windows, else the standard form."""
        if not expression.args.get("buffer"):
            return super().window_sql(expression)
        rows_lit = expression.args.get("buffer_rows")
        spec = expression.args.get("spec")
        rows = int(rows_lit.name) if rows_lit else int(spec.args["start"].name)
        partition = self.partition_by_sql(expression)
        order = expression.args.get("order")
        order_sql = self.order_sql(order, flat=True) if order else ""
        spec_sql = "" if spec is None or spec == buffer_spec(rows) else self.sql(spec)
        emit = self.sql(expression, "emit")
        expire = expression.args.get("expire")
        if isinstance(expire, Duration):
            expire_sql = f"EXPIRE AFTER {self.sql(expire)} INACTIVITY"
        else:
            expire_sql = "EXPIRE AFTER NEVER" if expire else ""
        parts = [
            f"ROWS WINDOW BUFFER {rows} ROWS",
            partition,
            order_sql,
            spec_sql,
            emit,
            expire_sql,
        ]
        return f"{self.sql(expression, 'this')} OVER ({' '.join(p for p in parts if p)})"

    def create_sql(self, expression: exp.Create) -> str:
        """`CREATE STREAM|TABLE name [(cols)] [WITH (...)] AS <query>`."""
        kind = str(expression.args.get("kind") or "").upper()
        query = expression.expression
        if kind not in ("STREAM", "TABLE") or not isinstance(query, exp.Query):
            return super().create_sql(expression)
        props = expression.args.get("properties")
        with_sql = f" {_properties_sql(self, props)}" if props else ""
        replace = "OR REPLACE " if expression.args.get("replace") else ""
        exists = "IF NOT EXISTS " if expression.args.get("exists") else ""
        name = self.sql(expression, "this")
        return f"CREATE {replace}{kind} {exists}{name}{with_sql} AS {self.sql(query)}"


class Velostream(Postgres):
    """The Velostream dialect (``read="velostream"``)."""

    class Tokenizer(Postgres.Tokenizer):
        IDENTIFIERS = ['"', "`"]
        # EXPLAIN is a statement (not an opaque command); REGEXP is a function, not an operator.
        KEYWORDS = {
            k: v for k, v in Postgres.Tokenizer.KEYWORDS.items() if k not in ("EXPLAIN", "REGEXP")
        }
        # SHOW is a statement here, not an opaque command that swallows the rest of the text.
        COMMANDS = {c for c in Postgres.Tokenizer.COMMANDS if c != TokenType.SHOW}

    Parser = VelostreamParser
    Generator = VelostreamGenerator


__all__ = ["VeloParseError", "Velostream", "VelostreamGenerator", "VelostreamParser"]
