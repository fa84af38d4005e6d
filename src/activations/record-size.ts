/**
 * About how much memory an activation record holds, so the in-memory store can bound its records by bytes and not
 * only by count: one record may carry 10 MB of logs and a 1 MB result, and ten thousand of those would be 100 GB.
 */
import type { StoredActivation } from './record';

/** The fixed part of a record: its ids, names, times and annotations, as JavaScript objects. */
const RECORD_OVERHEAD = 1024;
/** What each log line costs beyond its characters: the string's header (32 bytes) and its slot in the array (8). */
const LINE_OVERHEAD = 40;

export function recordBytes(record: StoredActivation): number {
  let bytes = RECORD_OVERHEAD;
  for (const line of record.logs) bytes += line.length + LINE_OVERHEAD;
  return bytes + resultBytes(record.response.result, record.response.size);
}

/** The result's size as the action produced it when the invoker measured it, else its JSON length. */
function resultBytes(result: unknown, size: number | undefined): number {
  if (size !== undefined) return size;
  if (result === undefined || result === null) return 0;
  try {
    return JSON.stringify(result)?.length ?? 0;
  } catch {
    // Not JSON (a cycle, a BigInt from an embedding caller): counted as small rather than failing the store.
    return 0;
  }
}
