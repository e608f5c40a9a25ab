import { describe, expect, it } from 'vitest';

import {
  buildDeployPayload,
  coerceParam,
  defaultName,
  errorText,
  formatLag,
  formatRate,
  isCron,
  withChartHints
} from '../src/format';

describe('numbers of the jobs panel', () => {
  it('formats rates', () => {
    expect(formatRate(1234.4)).toBe('1,234/s');
    expect(formatRate(12.46)).toBe('12.5/s');
    expect(formatRate(0)).toBe('0.0/s');
    expect(formatRate(null)).toBe('–');
    expect(formatRate(Number.NaN)).toBe('–');
  });

  it('formats lag', () => {
    expect(formatLag(0.44)).toBe('0.4 s');
    expect(formatLag(125)).toBe('2 min 5 s');
    expect(formatLag(3720)).toBe('1 h 2 min');
    expect(formatLag(undefined)).toBe('–');
  });
});

describe('deploy form', () => {
  const base = { path: 'dir/Trade Stats.ipynb', name: 'trade_stats', continuous: false };

  it('builds the payload with typed parameters', () => {
    const r = buildDeployPayload({
      ...base,
      schedule: ' */5 * * * * ',
      parameters: [
        { name: 'symbol', value: 'MSFT', default: 'AAPL' },
        { name: 'min_quantity', value: '250', default: 100 },
        { name: 'strict', value: 'TRUE', default: false },
        { name: '', value: 'ignored' }
      ]
    });
    expect(r).toEqual({
      payload: {
        path: 'dir/Trade Stats.ipynb',
        name: 'trade_stats',
        schedule: '*/5 * * * *',
        continuous: false,
        parameters: { symbol: 'MSFT', min_quantity: 250, strict: true }
      }
    });
  });

  it('continuous has no schedule', () => {
    const r = buildDeployPayload({ ...base, continuous: true, schedule: 'junk', parameters: [] });
    expect('payload' in r && r.payload.schedule).toBe(null);
  });

  it('names the problem', () => {
    const bad = (over: object) =>
      buildDeployPayload({ ...base, schedule: '0 * * * *', parameters: [], ...over });
    expect(bad({ name: '9lives' })).toHaveProperty('error');
    expect((bad({ schedule: 'every minute' }) as { error: string }).error).toContain(
      "'every minute' is not a cron expression"
    );
    const twice = bad({
      parameters: [
        { name: 'a', value: '1' },
        { name: 'a', value: '2' }
      ]
    });
    expect(twice).toEqual({ error: "Parameter 'a' is given twice" });
  });

  it('recognises cron expressions', () => {
    expect(isCron('0 6 * * MON-FRI')).toBe(true);
    expect(isCron('@daily')).toBe(true);
    expect(isCron('* * * *')).toBe(false);
    expect(isCron('0 6 * * * *')).toBe(false);
  });

  it('keeps a number-looking text as text when the default is text', () => {
    expect(coerceParam('007', 'x')).toBe('007');
    expect(coerceParam('7', 1)).toBe(7);
    expect(coerceParam('seven', 1)).toBe('seven');
    expect(coerceParam('', null)).toBe(null);
  });

  it('derives a name and reads server errors', () => {
    expect(defaultName('dir/Trade Stats.ipynb')).toBe('trade_stats');
    expect(defaultName('01-quickstart.ipynb')).toBe('quickstart');
    expect(errorText(400, { error: 'bad cron' })).toBe('bad cron');
    expect(errorText(502, null)).toBe('the server answered 502');
  });
});

describe('withChartHints', () => {
  const sql = 'SELECT a, b FROM t';
  it('puts the suggested chart above the SQL as @viz annotations', () => {
    expect(withChartHints(sql, { type: 'line', x: 'a', y: 'b' })).toBe(
      '-- @viz: line\n-- @viz_x: a\n-- @viz_y: b\nSELECT a, b FROM t'
    );
    expect(withChartHints(sql, { type: 'table', x: 'a' })).toBe('-- @viz: none\n' + sql);
  });

  it('leaves the SQL alone without a usable suggestion or with its own @viz', () => {
    expect(withChartHints(sql, undefined)).toBe(sql);
    expect(withChartHints(sql, { type: 'pie' })).toBe(sql);
    expect(withChartHints('-- @viz: bar\n' + sql, { type: 'line' })).toBe('-- @viz: bar\n' + sql);
    expect(withChartHints(sql, { type: 'bar', y: 'b; DROP' })).toBe('-- @viz: bar\n' + sql);
  });
});
