import { randomBytes } from 'node:crypto';

// Random parts are drawn from a pooled buffer: one randomBytes call per 512 ids keeps id generation off the hot path.
const POOL_IDS = 512;
const RANDOM_BYTES = 10;
let pool = Buffer.alloc(0);
let offset = 0;

/**
 * A 32-character lowercase hex activation id, like OpenWhisk's (a UUID without dashes): the time in ms (12 hex
 * digits) then 80 random bits. Ids made later sort later, so a durable store adds each new id at the right edge of
 * its indexes: a commit of many activations touches a few index pages instead of one random page per activation,
 * which on an SD card is most of the bytes written (docs/durability.md#disks-sd-cards-power-cuts-full-disks).
 */
export function newActivationId(): string {
  if (offset >= pool.length) {
    pool = randomBytes(RANDOM_BYTES * POOL_IDS);
    offset = 0;
  }
  const time = Date.now().toString(16).padStart(12, '0').slice(-12);
  const id = time + pool.toString('hex', offset, offset + RANDOM_BYTES);
  offset += RANDOM_BYTES;
  return id;
}
