import { randomBytes } from 'node:crypto';

// Ids are drawn from a pooled buffer: one randomBytes call per 512 ids keeps id generation off the hot path.
const POOL_IDS = 512;
let pool = Buffer.alloc(0);
let offset = 0;

/** A 32-character lowercase hex activation id, like OpenWhisk's (a UUID without dashes). */
export function newActivationId(): string {
  if (offset >= pool.length) {
    pool = randomBytes(16 * POOL_IDS);
    offset = 0;
  }
  const id = pool.toString('hex', offset, offset + 16);
  offset += 16;
  return id;
}
