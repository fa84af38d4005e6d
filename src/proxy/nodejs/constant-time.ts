/**
 * Secrets compared in constant time: the REST API's Basic credentials and the action proxy's secret. Here, beside the
 * Node.js proxy, because the proxy ships as this folder alone (src/runtimes/docker/proxy-source.ts) and imports
 * nothing outside it; the REST layer imports it from here.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

function digest(value: string | Buffer): Buffer {
  return createHash('sha256').update(value).digest();
}

/**
 * Whether `given` is `expected` (strings as UTF-8), in a time that tells nothing about either, their lengths
 * included: both are hashed first, so `timingSafeEqual` always compares two 32-byte digests.
 */
export function sameSecret(given: string | Buffer, expected: string | Buffer): boolean {
  return timingSafeEqual(digest(given), digest(expected));
}
