// The admin API (docs/admin-api.md) over HTTP/1.1 + JSON with Node's fetch: one request, its errors mapped.

import {EmulatorError, NotIdleError, UnknownQueueError} from './errors.js';

// Longest a call other than drain may take: a call fault can hold an answer for up to 600 s, but the
// admin API itself answers at once.
const CALL_TIMEOUT_MS = 60_000;

/**
 * Sends one admin API request and answers with its JSON body. A non-2xx answer throws: UnknownQueueError
 * for an unknown or ambiguous queue, NotIdleError for drain's 504, EmulatorError otherwise.
 * @param {string} baseUrl e.g. 'http://127.0.0.1:8123'
 * @param {string} method
 * @param {string} path
 * @param {{body?: Record<string, unknown>, timeoutMs?: number, queueNamed?: boolean}} [options]
 *   `queueNamed`: the call names a queue, so a 404 is an UnknownQueueError
 * @returns {Promise<any>}
 */
export async function adminCall(baseUrl, method, path, {body, timeoutMs = CALL_TIMEOUT_MS, queueNamed = false} = {}) {
  /** @type {RequestInit} */
  const init = {method, signal: AbortSignal.timeout(timeoutMs)};
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers = {'Content-Type': 'application/json'}; // the emulator refuses other bodies
  }
  let response;
  try {
    response = await fetch(`${baseUrl}${path}`, init);
  } catch (error) {
    throw new EmulatorError(`${method} ${baseUrl}${path}: ${describe(error)}`);
  }
  const text = await response.text();
  let answer;
  try {
    answer = text ? JSON.parse(text) : {};
  } catch {
    throw new EmulatorError(`${method} ${path}: HTTP ${response.status}, not JSON: ${text.slice(0, 200)}`,
      {httpStatus: response.status});
  }
  if (response.ok) return answer;
  const details = {httpStatus: response.status, status: answer?.error?.status ?? '', body: answer};
  if (response.status === 504 && answer?.idle === false) {
    throw new NotIdleError(`the emulator did not go idle: ${text}`, details);
  }
  const message = answer?.error?.message ?? text;
  const unknown = queueNamed && response.status === 404;
  if (unknown || (answer && ('known_queues' in answer || 'matching_queues' in answer))) {
    throw new UnknownQueueError(message, details);
  }
  throw new EmulatorError(`${method} ${path}: ${message} (${details.status || 'HTTP'} ${response.status})`, details);
}

/** @param {unknown} error */
function describe(error) {
  const cause = /** @type {any} */ (error)?.cause;
  return cause?.code ? `${cause.code} (is the emulator running?)` : String(error);
}

/**
 * An attempt as the admin API lists it, in camelCase.
 * @param {any} raw
 * @returns {import('./index.js').Attempt}
 */
export function toAttempt(raw) {
  return {
    queue: raw.queue,
    task: raw.task,
    url: raw.url,
    requestHeaders: raw.request_headers,
    status: raw.status,
    error: raw.error,
    responseExcerpt: raw.response_excerpt,
    latencyMs: raw.latency_ms,
    time: raw.time,
    retryCount: raw.retry_count,
  };
}

/**
 * A fault as the admin API lists it, in camelCase.
 * @param {any} raw
 * @returns {import('./index.js').Fault}
 */
export function toFault(raw) {
  const {url_prefix: urlPrefix, ...rest} = raw;
  return urlPrefix === undefined ? rest : {...rest, urlPrefix};
}
