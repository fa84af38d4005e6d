/**
 * Query parameters, read as OpenWhisk's controller (akka-http) reads them: booleans by akka's words, integers as
 * plain decimal digits. `Number()` alone would take `0x10`, `1e3`, ` 16` or `+16` for numbers.
 */
import { ewError } from '../errors';

const DECIMAL = /^\d+$/;
const SIGNED_DECIMAL = /^-?\d+$/;

/** A boolean query parameter, read as akka-http (OpenWhisk's server) reads one. */
export function flag(query: URLSearchParams, name: string): boolean {
  const value = query.get(name)?.toLowerCase();
  return value === '' || value === 'true' || value === 'yes' || value === 'on' || value === '1';
}

/** `?timeout`, the blocking wait in ms: decimal digits in 1..60000 (checked whenever given, as OpenWhisk does). */
export function waitTimeout(query: URLSearchParams): number | undefined {
  const value = query.get('timeout');
  if (value === null) return undefined;
  const t = DECIMAL.test(value) ? Number(value) : NaN;
  if (!Number.isInteger(t) || t < 1 || t > 60_000) throw ewError('EW_WAIT_TIMEOUT_INVALID', []);
  return t;
}

/** `?limit` and `?skip` of a list: signed decimal digits (the list checks the range with OpenWhisk's messages). */
export function listParams(query: URLSearchParams, collection: string): { limit?: string; skip?: string } {
  const out: { limit?: string; skip?: string } = {};
  for (const name of ['limit', 'skip'] as const) {
    const value = query.get(name);
    if (value === null) continue;
    if (!SIGNED_DECIMAL.test(value)) throw ewError('EW_LIST_NOT_INTEGER', [value, collection]);
    out[name] = value;
  }
  return out;
}

/** `?since` and `?upto` of the activation list: epoch milliseconds as decimal digits. */
export function epochParams(query: URLSearchParams): { since?: string; upto?: string } {
  const out: { since?: string; upto?: string } = {};
  for (const name of ['since', 'upto'] as const) {
    const value = query.get(name);
    if (value === null) continue;
    if (!DECIMAL.test(value)) throw ewError('EW_LIST_EPOCH_INVALID', [value]);
    out[name] = value;
  }
  return out;
}
