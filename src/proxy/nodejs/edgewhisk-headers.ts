/**
 * EdgeWhisk's additions to the action-proxy protocol's requests (docs/action-protocol.md#edgewhisks-additions),
 * shared by the proxy, which ships as this folder alone, and the engine's proxy client. Lower case: Node.js reads
 * incoming header names in lower case, and HTTP header names are case-insensitive.
 */
/** The secret a proxy started with `EW_PROXY_SECRET` requires on every request. */
export const SECRET_HEADER = 'x-edgewhisk-secret';
/** The activation's log limit in bytes, which EdgeWhisk's proxies enforce where the output is produced. */
export const LOG_LIMIT_HEADER = 'x-edgewhisk-log-limit';
