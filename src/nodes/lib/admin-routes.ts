/**
 * The editor's HTTP routes, under `/edgewhisk/` on Node-RED's admin API. Reading activity needs the
 * `edgewhisk.read` permission (a `read` user has it), running code needs `edgewhisk.write`, like deploying: with
 * `adminAuth` set, a user without the permission gets Node-RED's 401 and nothing else.
 *
 *   GET  /edgewhisk/engines                      the running engines, with queue, pool and memory figures
 *   GET  /edgewhisk/engines/:key/activations     in-flight and recent activations (?limit=, at most 200)
 *   GET  /edgewhisk/engines/:key/activations/:id one record: result, logs, annotations, and what caused it
 *   POST /edgewhisk/run                          runs the action dialog's code before deploy (see draft-run.ts)
 */
import { isEdgeWhiskError, ewError } from '../../errors';
import { parseDraft, runDraft } from './draft-run';
import { doneEntry, feedFor, liveFeeds, type EngineFeed } from './editor-feed';
import { engineFor, isEngineProvider, SHARED_ENGINE_KEY } from './engine-source';
import type { EngineLease } from './engine-registry';
import type { AdminHandler, AdminRequest, AdminResponse, RedApi } from './red-types';

export const ADMIN_PREFIX = '/edgewhisk';
const DEFAULT_LIST = 100;
const MAX_LIST = 200;

const registered = new WeakSet<object>();

/** Answers coded errors with their status and message; anything else is a 500 whose details go to the log only. */
function answer(RED: RedApi, res: AdminResponse, work: () => Promise<unknown>): void {
  work().then(
    (body) => res.json(body),
    (error: unknown) => {
      if (isEdgeWhiskError(error)) {
        res.status(error.statusCode).json({ error: error.message, code: error.code });
        return;
      }
      RED.log.error(`EdgeWhisk editor route failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      const internal = ewError('EW_SERVER_ERROR', []);
      res.status(internal.statusCode).json({ error: internal.message });
    },
  );
}

function feedOrThrow(key: string): EngineFeed {
  const feed = feedFor(key);
  if (feed === undefined) throw ewError('EW_EDITOR_ENGINE_UNKNOWN', [key]);
  return feed;
}

function listLimit(value: unknown): number {
  const n = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : DEFAULT_LIST;
  return Math.min(Math.max(n, 0), MAX_LIST);
}

/** The engine a draft runs on: the selected config node's (deployed), or the shared default engine. */
function leaseFor(RED: RedApi, key: unknown): EngineLease {
  if (key === undefined || key === '' || key === SHARED_ENGINE_KEY) return engineFor(RED, '');
  if (typeof key !== 'string') throw ewError('EW_EDITOR_DRAFT_INVALID', ["'engine' must be an engine node's id."]);
  if (!isEngineProvider(RED.nodes.getNode(key))) throw ewError('EW_EDITOR_ENGINE_NOT_DEPLOYED', [key]);
  return engineFor(RED, key);
}

/** Registers the routes once per Node-RED (node modules are loaded again by test helpers). */
export function registerAdminRoutes(RED: RedApi): void {
  const app = RED.httpAdmin;
  const auth = RED.auth;
  if (app === undefined || auth === undefined || registered.has(app)) return;
  registered.add(app);
  const read = auth.needsPermission('edgewhisk.read');
  const write = auth.needsPermission('edgewhisk.write');
  const route = (handler: (req: AdminRequest) => Promise<unknown>): AdminHandler => (req, res) => answer(RED, res, () => handler(req));

  app.get(`${ADMIN_PREFIX}/engines`, read, route(async () =>
    liveFeeds().map((feed) => ({ key: feed.identity.key, label: feed.identity.label, stats: feed.stats() })),
  ));

  app.get(`${ADMIN_PREFIX}/engines/:key/activations`, read, route(async (req) => {
    const feed = feedOrThrow(String(req.params['key']));
    const recent = await feed.recent(listLimit(req.query['limit']));
    return { engine: feed.identity.key, entries: [...feed.inFlight(), ...recent], stats: feed.stats() };
  }));

  app.get(`${ADMIN_PREFIX}/engines/:key/activations/:id`, read, route(async (req) => {
    const feed = feedOrThrow(String(req.params['key']));
    const activation = await feed.engine.activations.get(String(req.params['id']));
    return { activation, entry: feed.withOrigin(doneEntry(activation)) };
  }));

  app.post(`${ADMIN_PREFIX}/run`, write, route(async (req) => {
    const draft = parseDraft(req.body);
    const lease = leaseFor(RED, draft.engine);
    try {
      const activation = await runDraft(RED, lease, draft);
      return { activation };
    } finally {
      await lease.release();
    }
  }));
}
