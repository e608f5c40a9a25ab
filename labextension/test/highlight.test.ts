import { describe, expect, it } from 'vitest';

import { escapeHtml, highlightSql, tokenize } from '../src/highlight';

describe('tokenize', () => {
  it('gives the text back and classifies Velostream keywords, strings, numbers', () => {
    const sql =
      "-- @name: avg\nSELECT symbol, AVG(qty) FROM trades WINDOW TUMBLING(5m) EMIT FINAL WITH ('t.type' = 'it''s')";
    const toks = tokenize(sql);
    expect(toks.map(t => t.text).join('')).toBe(sql);
    const kinds = (text: string) => toks.filter(t => t.text === text).map(t => t.kind);
    expect(kinds('-- @name: avg')).toEqual(['annotation']);
    expect(kinds('TUMBLING')).toEqual(['keyword']);
    expect(kinds('EMIT')).toEqual(['keyword']);
    expect(kinds('FINAL')).toEqual(['keyword']);
    expect(kinds('AVG')).toEqual(['function']);
    expect(kinds('symbol')).toEqual(['identifier']);
    expect(kinds('5m')).toEqual(['number']);
    expect(kinds("'it''s'")).toEqual(['string']);
  });

  it('keeps an unterminated string and odd characters', () => {
    const toks = tokenize("SELECT 'abc ? #");
    expect(toks.map(t => t.text).join('')).toBe("SELECT 'abc ? #");
    expect(toks[toks.length - 1].kind).toBe('string');
  });
});

describe('highlightSql', () => {
  it('escapes HTML inside tokens', () => {
    const html = highlightSql("SELECT '<b>' AS x WHERE a < 1");
    expect(html).toContain('<span class="velo-tok-string">&#39;&lt;b&gt;&#39;</span>');
    expect(html).toContain('<span class="velo-tok-operator">&lt;</span>');
    expect(html).not.toContain('<b>');
    expect(html.startsWith('<span class="velo-tok-keyword">SELECT</span> ')).toBe(true);
  });

  it('escapeHtml handles every special character', () => {
    expect(escapeHtml(`<a href="x">&'`)).toBe('&lt;a href=&quot;x&quot;&gt;&amp;&#39;');
  });
});
