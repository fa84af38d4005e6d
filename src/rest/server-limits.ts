/**
 * The standalone server's connection limits (`edgewhisk serve`): how long a client may take to send its headers and
 * its whole request, how long an idle keep-alive connection stays open, and how many connections may be open at
 * once. Node's own defaults (60 s for headers, 300 s per request, no connection cap, limits checked only every 30 s)
 * let a few hundred clients that send a byte now and then hold the server's sockets indefinitely.
 *
 * These cover receiving requests only: a blocking invoke or a web action waiting for its activation has sent its
 * request and is bounded by its own wait, not by them. Node-RED's HTTP server, where the API can also be mounted,
 * keeps Node-RED's settings.
 */
import type { Server, ServerOptions } from 'node:http';
import type { EngineOptions } from '../options';

type ServerLimits = Pick<EngineOptions, 'httpHeadersTimeout' | 'httpRequestTimeout' | 'httpKeepAliveTimeout' | 'httpMaxConnections'>;

/** Options for `http.createServer`: the timeouts, checked often enough for them to mean what they say. */
export function serverOptions(o: ServerLimits): ServerOptions {
  return {
    headersTimeout: o.httpHeadersTimeout,
    requestTimeout: o.httpRequestTimeout,
    keepAliveTimeout: o.httpKeepAliveTimeout,
    // Node checks the header and request timeouts on this interval (30 s by default), so a 1 s limit could take 31 s.
    connectionsCheckingInterval: Math.max(100, Math.min(1_000, Math.floor(o.httpHeadersTimeout / 4))),
  };
}

/** The limits that are properties of a server rather than options of `createServer`. */
export function applyServerLimits(server: Server, o: ServerLimits): void {
  server.maxConnections = o.httpMaxConnections;
  server.keepAliveTimeout = o.httpKeepAliveTimeout;
  server.headersTimeout = o.httpHeadersTimeout;
  server.requestTimeout = o.httpRequestTimeout;
}
