/**
 * HTTP Basic credentials (RFC 7617), read strictly: `Basic <base64 of uuid:key>` where the base64 is canonical.
 *
 * Node's base64 decoder skips characters outside the alphabet and ignores stray padding, so a lenient reading
 * accepts many spellings of one key (`a2V5` and `a2V5!!`, or with non-zero pad bits); a key is then no longer one
 * exact string, and logs or rate limits keyed on the header see different callers where there is one. Anything
 * that does not re-encode to exactly the text given is refused.
 */
import { sameSecret } from '../proxy/nodejs/constant-time';

const CANONICAL_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** The decoded credentials of an `Authorization: Basic …` header, or `undefined` when it is not one, strictly. */
export function basicCredentials(header: string | undefined): Buffer | undefined {
  // The scheme name is case-insensitive (RFC 7235); one space separates it from the token.
  const match = header === undefined ? null : /^basic ([^ ]*)$/i.exec(header);
  const token = match?.[1];
  if (token === undefined || token === '' || !CANONICAL_BASE64.test(token)) return undefined;
  const decoded = Buffer.from(token, 'base64');
  // Non-zero bits in the last character's padding decode to the same bytes as the canonical text: refused.
  if (decoded.toString('base64') !== token) return undefined;
  return decoded;
}

/** Whether `header` carries exactly `expected` (`uuid:key` bytes), compared in constant time. */
export function credentialsMatch(header: string | undefined, expected: Buffer): boolean {
  const given = basicCredentials(header);
  return given !== undefined && sameSecret(given, expected);
}
