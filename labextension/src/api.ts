import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import { errorText } from './format';
import { NdjsonParser } from './ndjson';

/** A failed API call, with the server's own message. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string
  ) {
    super(message);
  }
}

function settings(): ServerConnection.ISettings {
  return ServerConnection.makeSettings();
}

/** The URL of a studio endpoint: {baseUrl}velostream/api/{path}. */
export function apiUrl(path: string): string {
  return URLExt.join(settings().baseUrl, 'velostream', 'api', path);
}

/** A JSON request to the studio's API (token and XSRF handled by Jupyter's connection). */
export async function requestJson<T>(
  path: string,
  init: RequestInit = {}
): Promise<{ status: number; body: T }> {
  let response: Response;
  try {
    response = await ServerConnection.makeRequest(apiUrl(path), init, settings());
  } catch (e) {
    throw new ApiError(0, `Could not reach the Jupyter server: ${String(e)}`);
  }
  const text = await response.text();
  let body: unknown = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = { error: text };
  }
  if (!response.ok) {
    throw new ApiError(response.status, errorText(response.status, body));
  }
  return { status: response.status, body: body as T };
}

/** POST a question and call `onEvent` with each NDJSON event as it streams in. */
export async function streamEvents(
  path: string,
  payload: unknown,
  onEvent: (event: Record<string, unknown>) => void,
  signal: AbortSignal
): Promise<void> {
  const response = await ServerConnection.makeRequest(
    apiUrl(path),
    { method: 'POST', body: JSON.stringify(payload), signal },
    settings()
  );
  if (!response.ok || !response.body) {
    const text = await response.text();
    let body: unknown = null;
    try {
      body = JSON.parse(text);
    } catch {
      body = { error: text };
    }
    throw new ApiError(response.status, errorText(response.status, body));
  }
  const parser = new NdjsonParser();
  const reader = response.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) {
      break;
    }
    for (const e of parser.push(value)) {
      onEvent(e as Record<string, unknown>);
    }
  }
  for (const e of parser.flush()) {
    onEvent(e as Record<string, unknown>);
  }
}
