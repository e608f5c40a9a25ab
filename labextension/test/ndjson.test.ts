import { describe, expect, it } from 'vitest';

import { NdjsonParser } from '../src/ndjson';

describe('NdjsonParser', () => {
  it('joins lines split across chunks, bytes split inside a character too', () => {
    const p = new NdjsonParser();
    const bytes = new TextEncoder().encode('{"a":1}\n{"t":"é"}\n{"b"');
    // split inside the two-byte é (bytes 14..15 of the text above)
    const at = bytes.indexOf(0xc3) + 1;
    expect(p.push(bytes.slice(0, at))).toEqual([{ a: 1 }]);
    expect(p.push(bytes.slice(at))).toEqual([{ t: 'é' }]);
    expect(p.push(':2}\n\n')).toEqual([{ b: 2 }]);
    expect(p.flush()).toEqual([]);
  });

  it('returns a last line without a newline on flush', () => {
    const p = new NdjsonParser();
    expect(p.push('{"x": true}')).toEqual([]);
    expect(p.flush()).toEqual([{ x: true }]);
  });
});
