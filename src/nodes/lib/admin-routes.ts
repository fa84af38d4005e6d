/**
 * The editor's HTTP routes, under `/edgewhisk/` on Node-RED's admin API. Reading activity needs the
 * `edgewhisk.read` permission (a `read` user has it), running code needs `edgewhisk.write`, like deploying: with
 * `adminAuth` set, a user without the permission gets Node-RED's 401 and nothing else.
 *
 *   GET  /edgewhisk/engines                      the running engines, with queue, pool and memory figures
 *   GET  /edgewhisk/engines/:key/activations     in-flight and recent activations (?limit=, at most 200)
 *   GET  /edgewhisk/engines/:key/activations/:id one record: result, logs, annotations, and what caused it
 *   GET  /edgewhisk/engines/:key/dead-letters    accepted invocations that will not finish on their own (?limit=)
 *   POST /edgewhisk/engines/:key/dead-letters/:id/redrive   runs one again (write), as a new activation
 *   DELETE /edgewhisk/engines/:key/dead-letters/:id         drops one (write); its record stays
 *   POST /edgewhisk/run                          runs the action dialog's code before deploy (see draft-run.ts)
 *   GET  /edgewhisk/schedule?cron=&timezone=     a trigger dialog's schedule: its next 3 fire times, or why the
 *                                                alarm feed would refuse it (see schedule-preview.ts)
 */
import { isEdgeWhiskError, ewError } from '../../errors';
import { parseDraft, runDraft } from './draft-run';
import { doneEntry, feedFor, liveFeeds, type EngineFeed } from './editor-feed';
import { engineFor, isEngineProvider, SHARED_ENGINE_KEY } from './engine-source';
import type { EngineLease } from './engine-registry';
import type { DeadLetter } from '../../queue/accepted-log';
import { previewSchedule } from './schedule-preview';
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

/** A remote engine's node: its dead letters, if any, are the OpenWhisk deployment's business, not this editor's. */
function isRemoteEngine(RED: RedApi, key: string): boolean {
  const node = RED.nodes.getNode(key);
  return isEngineProvider(node) && (node as { remote?: unknown }).remote === true;
}

/**
 * A dead letter as the sidebar shows it. The payload is left out: activation records do not keep parameters (as in
 * OpenWhisk), and the editor shows no more of an invocation than its record does; a re-drive uses it all the same.
 */
function letterView(letter: DeadLetter): Omit<DeadLetter, 'payload'> & { action: string } {
  const { payload: _payload, ...rest } = letter;
  return { ...rest, action: letter.target.split('/').filter((p) => p !== '').slice(1).join('/') };
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

  app.get(`${ADMIN_PREFIX}/engines/:key/dead-letters`, read, route(async (req) => {
    const key = String(req.params['key']);
    if (feedFor(key) === undefined && isRemoteEngine(RED, key)) return { engine: key, count: 0, deadLetters: [] };
    const dead = feedOrThrow(key).engine.deadLetters;
    const { deadLetters: count } = await dead.list({ count: true });
    const letters = await dead.list({ limit: listLimit(req.query['limit']) });
    return { engine: key, count, deadLetters: letters.map(letterView) };
  }));

  app.post(`${ADMIN_PREFIX}/engines/:key/dead-letters/:id/redrive`, write, route(async (req) => {
    const key = String(req.params['key']);
    const id = String(req.params['id']);
    if (feedFor(key) === undefined && isRemoteEngine(RED, key)) throw ewError('EW_DEAD_LETTER_NOT_FOUND', [id]);
    const feed = feedOrThrow(key);
    const redriven = await feed.engine.deadLetters.redrive(id);
    return { engine: key, ...redriven };
  }));

  app.delete(`${ADMIN_PREFIX}/engines/:key/dead-letters/:id`, write, route(async (req) => {
    const key = String(req.params['key']);
    const id = String(req.params['id']);
    if (feedFor(key) === undefined && isRemoteEngine(RED, key)) throw ewError('EW_DEAD_LETTER_NOT_FOUND', [id]);
    const letter = await feedOrThrow(key).engine.deadLetters.delete(id);
    return { engine: key, deadLetter: letterView(letter) };
  }));

  // Computed, not run: reading is enough. A schedule that would be refused is an answer too (`error`), not a 4xx.
  app.get(`${ADMIN_PREFIX}/schedule`, read, route(async (req) => previewSchedule(req.query['cron'], req.query['timezone'])));

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
