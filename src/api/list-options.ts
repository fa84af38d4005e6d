/** Paging for list calls, validated with OpenWhisk's messages (apache/openwhisk docs/rest_api.md: default 30, max 200). */
import { ewError } from '../errors';

export interface ListOptions {
  readonly namespace?: string;
  readonly skip?: number | string;
  readonly limit?: number | string;
  /** Only the number of entities, as `{<collection>: n}`. */
  readonly count?: boolean;
}

export const LIST_DEFAULT_LIMIT = 30;
export const LIST_MAX_LIMIT = 200;

function integer(value: number | string, collection: string): number {
  const n = typeof value === 'number' ? value : Number(value);
  if (!Number.isInteger(n) || (typeof value === 'string' && !/^-?\d+$/.test(value.trim()))) {
    throw ewError('EW_LIST_NOT_INTEGER', [String(value), collection]);
  }
  return n;
}

export function listWindow(options: ListOptions, collection: string): { skip: number; limit: number } {
  let limit = LIST_DEFAULT_LIMIT;
  let skip = 0;
  if (options.limit !== undefined) {
    limit = integer(options.limit, collection);
    if (limit < 0 || limit > LIST_MAX_LIMIT) throw ewError('EW_LIST_LIMIT_RANGE', [String(options.limit), LIST_MAX_LIMIT, collection]);
    // OpenWhisk treats limit=0 as "the default page".
    if (limit === 0) limit = LIST_DEFAULT_LIMIT;
  }
  if (options.skip !== undefined) {
    skip = integer(options.skip, collection);
    if (skip < 0) throw ewError('EW_LIST_SKIP_NEGATIVE', [String(options.skip), collection]);
  }
  return { skip, limit };
}
