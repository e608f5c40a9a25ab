/**
 * Velostream SQL: its keywords, and a small tokenizer that turns SQL into highlighted HTML for
 * the chat's answers (the notebook's editor uses CodeMirror with the same keywords).
 */

export const VELO_KEYWORDS = [
  'select', 'from', 'where', 'group', 'by', 'having', 'order', 'limit', 'window',
  'tumbling', 'sliding', 'hopping', 'session', 'emit', 'changes', 'final', 'with',
  'create', 'stream', 'table', 'as', 'insert', 'into', 'show', 'streams', 'tables',
  'jobs', 'functions', 'describe', 'explain', 'stop', 'job', 'set', 'join', 'left',
  'inner', 'on', 'within', 'interval', 'primary', 'key', 'and', 'or', 'not', 'in', 'is',
  'null', 'like', 'between', 'case', 'when', 'then', 'else', 'end', 'distinct', 'over',
  'partition', 'rows', 'buffer', 'millisecond', 'second', 'minute', 'hour', 'day',
  'cast', 'true', 'false', 'asc', 'desc', 'advance', 'size'
]; // prettier-ignore

const KEYWORDS = new Set(VELO_KEYWORDS);

export type TokenKind =
  | 'keyword'
  | 'string'
  | 'number'
  | 'comment'
  | 'annotation'
  | 'identifier'
  | 'function'
  | 'operator'
  | 'space';

export interface Token {
  kind: TokenKind;
  text: string;
}

const RULES: Array<[TokenKind, RegExp]> = [
  ['space', /^\s+/],
  ['annotation', /^--\s*@[^\n]*/],
  ['comment', /^--[^\n]*/],
  ['comment', /^\/\*[\s\S]*?(\*\/|$)/],
  ['string', /^'(?:[^']|'')*(?:'|$)/],
  ['identifier', /^"(?:[^"]|"")*(?:"|$)/],
  ['number', /^\d+(?:\.\d+)?(?:ms|s|m|h|d)?\b/],
  ['identifier', /^[A-Za-z_][A-Za-z0-9_]*/],
  ['operator', /^(?:<=|>=|<>|!=|::|\|\||[-+*/%=<>(),.;:{}[\]])/]
];

/** The tokens of a SQL text; concatenating their texts gives the text back. */
export function tokenize(sql: string): Token[] {
  const out: Token[] = [];
  let rest = sql;
  while (rest.length > 0) {
    let matched = false;
    for (const [kind, re] of RULES) {
      const m = re.exec(rest);
      if (m && m[0].length > 0) {
        let k: TokenKind = kind;
        if (kind === 'identifier' && !m[0].startsWith('"')) {
          const lower = m[0].toLowerCase();
          if (KEYWORDS.has(lower)) {
            k = 'keyword';
          } else if (/^\s*\(/.test(rest.slice(m[0].length))) {
            k = 'function';
          }
        }
        out.push({ kind: k, text: m[0] });
        rest = rest.slice(m[0].length);
        matched = true;
        break;
      }
    }
    if (!matched) {
      out.push({ kind: 'operator', text: rest[0] });
      rest = rest.slice(1);
    }
  }
  return out;
}

/** Text safe to put inside HTML. */
export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** SQL as HTML: every non-space token in a `<span class="velo-tok-KIND">`. */
export function highlightSql(sql: string): string {
  return tokenize(sql)
    .map(t =>
      t.kind === 'space'
        ? escapeHtml(t.text)
        : `<span class="velo-tok-${t.kind}">${escapeHtml(t.text)}</span>`
    )
    .join('');
}
