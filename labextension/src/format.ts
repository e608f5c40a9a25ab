/**
 * Pure helpers of the panels: numbers as the jobs panel shows them, the deploy form's payload.
 */

/** Records per second: "1,234/s", "12.5/s", or "–" when unknown. */
export function formatRate(rate: number | null | undefined): string {
  if (rate === null || rate === undefined || !Number.isFinite(rate)) {
    return '–';
  }
  const shown =
    rate >= 100 ? Math.round(rate).toLocaleString('en-US') : rate.toFixed(1);
  return `${shown}/s`;
}

/** Watermark lag in seconds: "0.4 s", "2 min 5 s", "1 h 2 min", or "–". */
export function formatLag(lagS: number | null | undefined): string {
  if (lagS === null || lagS === undefined || !Number.isFinite(lagS)) {
    return '–';
  }
  if (lagS < 60) {
    return `${lagS.toFixed(1)} s`;
  }
  const total = Math.round(lagS);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  return h > 0 ? `${h} h ${m} min` : `${m} min ${s} s`;
}

/** A parameter's text from the form, typed like its default (number, boolean, else text). */
export function coerceParam(
  text: string,
  defaultValue: unknown
): string | number | boolean | null {
  const t = text.trim();
  if (typeof defaultValue === 'number' && t !== '' && Number.isFinite(Number(t))) {
    return Number(t);
  }
  if (typeof defaultValue === 'boolean' && /^(true|false)$/i.test(t)) {
    return t.toLowerCase() === 'true';
  }
  if (defaultValue === null && t === '') {
    return null;
  }
  return text;
}

export interface DeployForm {
  path: string;
  name: string;
  continuous: boolean;
  schedule: string;
  parameters: Array<{ name: string; value: string; default?: unknown }>;
}

export interface DeployPayload {
  path: string;
  name: string;
  schedule: string | null;
  continuous: boolean;
  parameters: Record<string, unknown>;
}

const NAME_RE = /^[A-Za-z][A-Za-z0-9_-]*$/;

/** A cron expression has five fields (minute hour day month weekday), or is an @alias. */
export function isCron(schedule: string): boolean {
  const s = schedule.trim();
  if (/^@(yearly|annually|monthly|weekly|daily|midnight|hourly)$/.test(s)) {
    return true;
  }
  const fields = s.split(/\s+/);
  return fields.length === 5 && fields.every(f => /^[\d*/,\-A-Za-z?]+$/.test(f));
}

/** The JSON POSTed to /velostream/api/deploy, or the first problem with the form. */
export function buildDeployPayload(
  form: DeployForm
): { payload: DeployPayload } | { error: string } {
  const name = form.name.trim();
  if (!NAME_RE.test(name)) {
    return {
      error:
        'Name: start with a letter; use letters, digits, _ and - only (e.g. trade_stats)'
    };
  }
  let schedule: string | null = null;
  if (!form.continuous) {
    if (!isCron(form.schedule)) {
      return {
        error: `Schedule: '${form.schedule}' is not a cron expression (e.g. */5 * * * * for every 5 minutes), or choose Continuous`
      };
    }
    schedule = form.schedule.trim();
  }
  const parameters: Record<string, unknown> = {};
  for (const p of form.parameters) {
    const key = p.name.trim();
    if (!key) {
      continue;
    }
    if (key in parameters) {
      return { error: `Parameter '${key}' is given twice` };
    }
    parameters[key] = coerceParam(p.value, p.default);
  }
  return {
    payload: {
      path: form.path,
      name,
      schedule,
      continuous: form.continuous,
      parameters
    }
  };
}

/** A default pipeline name from a notebook path: "dir/Trade Stats.ipynb" -> "trade_stats". */
export function defaultName(path: string): string {
  const base = path.split('/').pop() ?? path;
  const stem = base.replace(/\.[^.]+$/, '');
  const name = stem
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, '_')
    .replace(/^[^a-z]+/, '')
    .replace(/_+$/, '');
  return name || 'pipeline';
}

/** The error text of a failed API answer: its {"error"} or {"message"}, else the status. */
export function errorText(status: number, body: unknown): string {
  if (body && typeof body === 'object') {
    const b = body as Record<string, unknown>;
    for (const key of ['error', 'message', 'reason']) {
      if (typeof b[key] === 'string' && b[key]) {
        return b[key] as string;
      }
    }
  }
  return `the server answered ${status}`;
}

/**
 * The SQL with the assistant's suggested chart as the kernel's `-- @viz` annotations above it
 * (unless the SQL already has some): line | bar | indicator, or `none` for a table only.
 */
export function withChartHints(sql: string, chart: Record<string, unknown> | undefined): string {
  if (!chart || /--\s*@viz/i.test(sql)) {
    return sql;
  }
  const kind = String(chart.type ?? '').toLowerCase();
  const viz = kind === 'table' ? 'none' : kind;
  if (!['line', 'bar', 'indicator', 'none'].includes(viz)) {
    return sql;
  }
  const lines = [`-- @viz: ${viz}`];
  const ident = /^[A-Za-z_][A-Za-z0-9_]*$/;
  for (const axis of ['x', 'y']) {
    const col = String(chart[axis] ?? '').trim();
    if (viz !== 'none' && ident.test(col)) {
      lines.push(`-- @viz_${axis}: ${col}`);
    }
  }
  return `${lines.join('\n')}\n${sql}`;
}
