/**
 * JSON request bodies, checked before `JSON.parse` so that parsing stays cheap and what it returns can be handled.
 *
 * `JSON.parse` blocks the event loop for as long as it runs, and its cost grows with the number of values, not the
 * bytes: 45 MB of `{"k0":0,"k1":1,…}` took 12 s to parse and merge. Only an action PUT may be that large, and its
 * bulk is one string (the code), which parses at memory speed. So besides the route's byte cap, the bytes outside
 * the largest string are capped (`structureCap`), and the nesting depth is bounded: a payload nested thousands of
 * levels deep parses, but then overflows the stack of whatever walks it (a 500).
 *
 * The scan skips strings with `indexOf`, so it costs a byte loop only over the structure, which the caps bound.
 */
import { ewError, type EdgeWhiskError } from '../errors';

/** Deepest nesting of objects and arrays accepted; real payloads stay far below it. */
export const JSON_MAX_DEPTH = 128;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_OBJECT = 0x7b;
const OPEN_ARRAY = 0x5b;
const CLOSE_OBJECT = 0x7d;
const CLOSE_ARRAY = 0x5d;

/** What a body nested deeper than JSON_MAX_DEPTH is refused with (by the REST API and by web actions). */
export function tooDeep(): EdgeWhiskError {
  return ewError('EW_BODY_MALFORMED', [`JSON nested deeper than ${JSON_MAX_DEPTH} levels.`]);
}

/** The nesting depth of `raw` (up to `maxDepth + 1`) and the length of its largest string literal, in bytes. */
export function scanJson(raw: Buffer, maxDepth: number): { depth: number; largestString: number } {
  let depth = 0;
  let deepest = 0;
  let largestString = 0;
  let i = 0;
  const n = raw.length;
  while (i < n) {
    const c = raw[i] as number;
    if (c === QUOTE) {
      let end = i + 1;
      for (;;) {
        end = raw.indexOf(QUOTE, end);
        // An unterminated string: JSON.parse will say so.
        if (end === -1) return { depth: deepest, largestString: Math.max(largestString, n - i) };
        let backslashes = 0;
        while (raw[end - 1 - backslashes] === BACKSLASH) backslashes++;
        if (backslashes % 2 === 0) break;
        end++;
      }
      largestString = Math.max(largestString, end - i + 1);
      i = end + 1;
      continue;
    }
    if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      depth++;
      if (depth > deepest) {
        deepest = depth;
        if (deepest > maxDepth) return { depth: deepest, largestString };
      }
    } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
      depth--;
    }
    i++;
  }
  return { depth: deepest, largestString };
}

/**
 * Parses a JSON body; `undefined` when it is empty. Throws 400 "The request content was malformed" for invalid JSON
 * or nesting deeper than JSON_MAX_DEPTH, and 413 when more than `structureCap` bytes lie outside its largest string.
 */
export function parseJsonBody(raw: Buffer, structureCap = Infinity): unknown {
  if (raw.length === 0) return undefined;
  const { depth, largestString } = scanJson(raw, JSON_MAX_DEPTH);
  if (depth > JSON_MAX_DEPTH) throw tooDeep();
  const structure = raw.length - largestString;
  if (structure > structureCap) {
    throw ewError('EW_BODY_TOO_COMPLEX', [structure, structureCap]);
  }
  try {
    return JSON.parse(raw.toString('utf8')) as unknown;
  } catch {
    throw ewError('EW_BODY_MALFORMED', ['Invalid JSON.']);
  }
}
