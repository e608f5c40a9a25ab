/**
 * Newline-delimited JSON from a byte stream that arrives in arbitrary pieces.
 */
export class NdjsonParser {
  private buffer = '';
  private readonly decoder = new TextDecoder();

  /** Feed bytes (or text); returns every complete JSON line seen so far, parsed. */
  push(chunk: Uint8Array | string): unknown[] {
    this.buffer +=
      typeof chunk === 'string'
        ? chunk
        : this.decoder.decode(chunk, { stream: true });
    const out: unknown[] = [];
    let nl = this.buffer.indexOf('\n');
    while (nl >= 0) {
      const line = this.buffer.slice(0, nl).trim();
      this.buffer = this.buffer.slice(nl + 1);
      if (line) {
        out.push(JSON.parse(line));
      }
      nl = this.buffer.indexOf('\n');
    }
    return out;
  }

  /** The last line when the stream ends without a newline. */
  flush(): unknown[] {
    const line = this.buffer.trim();
    this.buffer = '';
    return line ? [JSON.parse(line)] : [];
  }
}
