/**
 * Serves an engine's REST API on Node-RED's HTTP-node server under a path (the engine node's `exposeApi`).
 *
 * Express cannot unmount a handler, so each path is mounted once with a dispatcher, and deploys swap what it
 * dispatches to; a closed engine node leaves the path answering 404 through Node-RED's own routes.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RedApi } from './red-types';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

const active = new Map<string, Handler>();
const mounted = new WeakMap<object, Set<string>>();

export function normaliseApiPath(path: string | undefined): string {
  const trimmed = (path ?? '').trim().replace(/\/+$/, '');
  if (trimmed === '') return '/edgewhisk';
  return trimmed.startsWith('/') ? trimmed : `/${trimmed}`;
}

/** Mounts `handler` at `path`; returns a function that unmounts it. */
export function mountApi(RED: RedApi, path: string, handler: Handler): () => void {
  const app = RED.httpNode;
  if (app === undefined) throw new Error('Node-RED does not serve HTTP nodes here (httpNodeRoot is false), so the API cannot be exposed.');
  let paths = mounted.get(app);
  if (paths === undefined) {
    paths = new Set();
    mounted.set(app, paths);
  }
  if (!paths.has(path)) {
    paths.add(path);
    app.use(path, (req, res, next) => {
      const current = active.get(path);
      if (current === undefined) return next();
      current(req as IncomingMessage, res as ServerResponse);
    });
  }
  if (active.has(path)) throw new Error(`Another EdgeWhisk engine node already serves its API at ${path}.`);
  active.set(path, handler);
  return () => {
    if (active.get(path) === handler) active.delete(path);
  };
}
