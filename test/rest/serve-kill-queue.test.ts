/**
 * Issue 12's acceptance test: `edgewhisk serve` is killed with SIGKILL while 1,000 accepted non-blocking invocations
 * of a slow action are queued or running, and started again on the same EDGEWHISK_HOME. Every accepted activation id
 * ends with exactly one final record; only the ones that were running at the kill ran twice, and their records say
 * it (attempt 2); actions, triggers, rules and rule states are intact. Everything goes through the official client.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import openwhisk from 'openwhisk';
import { afterAll, describe, expect, it } from 'vitest';
import { startServe, type ServeProcess } from '../helpers/serve-process';

const servers: ServeProcess[] = [];
let pings: Server | undefined;
afterAll(async () => {
  for (const s of servers) await s.stop();
  pings?.close();
});

interface Record {
  activationId: string;
  response: { success: boolean; result: { i?: number } };
  annotations: { key: string; value: unknown }[];
}

/** Runs `fn` over `items`, `width` at a time. */
async function inBatches<T, R>(items: readonly T[], width: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += width) out.push(...(await Promise.all(items.slice(i, i + width).map(fn))));
  return out;
}

describe('edgewhisk serve killed with 1,000 accepted invocations queued or running', () => {
  it('runs every one to exactly one final record after the restart, re-running only those that were running', async () => {
    // The action tells this server when its code starts: which invocations were running at the kill is observed,
    // not guessed.
    const started: string[] = [];
    pings = createServer((req, res) => {
      started.push(new URL(req.url ?? '/', 'http://x').searchParams.get('id') ?? '');
      res.end();
    });
    await new Promise<void>((ok) => pings?.listen(0, '127.0.0.1', ok));
    const port = (pings.address() as AddressInfo).port;
    const action = `async function main(p) {
      await fetch('http://127.0.0.1:${port}/started?id=' + process.env.__OW_ACTIVATION_ID);
      await new Promise((r) => setTimeout(r, p.ms));
      return { i: p.i };
    }`;

    const first = await startServe();
    servers.push(first);
    const ow = openwhisk({ apihost: first.url, api_key: first.auth });
    await ow.actions.create({ name: 'slow', action, limits: { memory: 256, timeout: 60_000 } });
    await ow.triggers.create({ name: 'motion' });
    await ow.rules.create({ name: 'on', trigger: 'motion', action: 'slow' });
    await ow.rules.create({ name: 'off', trigger: 'motion', action: 'slow' });
    await ow.rules.disable({ name: 'off' });
    const invoke = async (i: number, ms: number): Promise<string> =>
      ((await ow.actions.invoke({ name: 'slow', params: { i, ms } })) as { activationId: string }).activationId;

    // Four long ones fill the pool's four 256 MB containers (memoryBudget 1024); the rest queue behind them.
    const ids = await Promise.all([0, 1, 2, 3].map((i) => invoke(i, 8_000)));
    const deadline = Date.now() + 20_000;
    while (started.length < 4 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(started.length).toBe(4);
    ids.push(...(await inBatches(Array.from({ length: 996 }, (_, k) => k + 4), 50, (i) => invoke(i, 5))));
    expect(new Set(ids).size).toBe(1000);
    const runningAtKill = [...started];
    first.child.kill('SIGKILL');
    await new Promise((r) => first.child.once('exit', r));
    // Nothing but the four long ones had started: the queue was behind them the whole time.
    expect(runningAtKill.sort()).toEqual(ids.slice(0, 4).sort());

    const second = await startServe({ home: first.home, auth: first.auth });
    servers.push(second);
    const again = openwhisk({ apihost: second.url, api_key: second.auth });
    const until = Date.now() + 90_000;
    let done = 0;
    while (Date.now() < until) {
      done = ((await again.activations.list({ name: 'slow', count: true } as never)) as unknown as { activations: number }).activations;
      if (done >= 1000) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(done).toBe(1000);
    expect(second.output()).toContain('replayed:  996 accepted, 4 re-run (were running), 0 expired and 0 without their action');
    const records = await inBatches(ids, 50, async (id) => (await again.activations.get({ name: id })) as unknown as Record);
    records.forEach((record, i) => {
      expect(record.activationId).toBe(ids[i]);
      expect(record.response).toMatchObject({ success: true, result: { i } });
      const attempt = record.annotations.find((a) => a.key === 'attempt')?.value;
      expect(attempt).toBe(i < 4 ? 2 : undefined);
    });
    // Exactly one record each, and no other run of the action: 1,000 records in all, and the re-run ones started
    // once more each, the others once.
    await new Promise((r) => setTimeout(r, 300));
    expect(((await again.activations.list({ name: 'slow', count: true } as never)) as unknown as { activations: number }).activations).toBe(1000);
    const runs = new Map<string, number>();
    for (const id of started) runs.set(id, (runs.get(id) ?? 0) + 1);
    expect([...runs.values()].filter((n) => n === 2)).toHaveLength(4);
    expect([...runs.values()].filter((n) => n === 1)).toHaveLength(996);
    expect(runs.size).toBe(1000);
    // The entities came through too.
    expect(((await again.rules.get({ name: 'on' })) as { status: string }).status).toBe('active');
    expect(((await again.rules.get({ name: 'off' })) as { status: string }).status).toBe('inactive');
    expect(((await again.triggers.get({ name: 'motion' })) as { name: string }).name).toBe('motion');
  }, 150_000);
});
