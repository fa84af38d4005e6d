/**
 * Issue 15's MQTT acceptance test, through the official `openwhisk` client against `edgewhisk serve` and a real
 * Mosquitto on 127.0.0.1: a trigger with the `/whisk.system/mqtt/subscribe` feed fires its rule for messages
 * published on a Home Assistant style topic, reports the broker going away as `failing` and resumes by itself when
 * it is back, gets the messages published while serve itself was killed (persistent session), and refuses bad
 * credentials at CREATE without echoing the password.
 */
import { connectAsync, type MqttClient } from 'mqtt';
import openwhisk from 'openwhisk';
import { afterAll, describe, expect, it } from 'vitest';
import { startMosquitto, type Mosquitto } from '../helpers/mosquitto';
import { startServe, type ServeProcess } from '../helpers/serve-process';

const servers: ServeProcess[] = [];
const brokers: Mosquitto[] = [];
const clients: MqttClient[] = [];
afterAll(async () => {
  for (const c of clients) await c.endAsync(true).catch(() => undefined);
  for (const s of servers) await s.stop();
  for (const b of brokers) await b.close();
});

const FEED = '/whisk.system/mqtt/subscribe';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Client = ReturnType<typeof openwhisk>;
interface Status {
  state: string;
  message: string;
}
interface Read {
  config: Record<string, unknown>;
  status: Status;
}

async function readFeed(ow: Client, trigger: string): Promise<Read> {
  const activation = (await (ow.feeds as unknown as { get(o: object): Promise<unknown> }).get({ name: FEED, trigger })) as { response: { result: Read } };
  return activation.response.result;
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeout = 20_000): Promise<T> {
  const end = Date.now() + timeout;
  let last: unknown;
  while (Date.now() < end) {
    last = await probe().catch((e: unknown) => e);
    if (last !== undefined && !(last instanceof Error)) return last as T;
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what} (last: ${JSON.stringify(last)})`);
}

interface Echo {
  start: number;
  response: { result: { topic: string; payload: unknown; qos: number; retain: boolean } };
}

describe('the MQTT feed through the official client against edgewhisk serve and Mosquitto', () => {
  it('fires on published messages, survives a broker restart and a kill -9 of serve, and refuses bad credentials', async () => {
    const broker = await startMosquitto({ users: { ha: 'secret-pass' } });
    brokers.push(broker);
    const publisher = await connectAsync(broker.url, { username: 'ha', password: 'secret-pass', clientId: 'test-publisher', reconnectPeriod: 0 });
    clients.push(publisher);

    const first = await startServe();
    servers.push(first);
    let ow = openwhisk({ apihost: first.url, api_key: first.auth });
    await ow.actions.create({ name: 'on-state', action: 'function main(p) { return { topic: p.topic, payload: p.payload, qos: p.qos, retain: p.retain }; }' });
    await ow.triggers.create({ name: 'ha-state' });
    await ow.rules.create({ name: 'ha-state-rule', trigger: 'ha-state', action: 'on-state' });
    await ow.feeds.create({
      name: FEED,
      trigger: 'ha-state',
      params: { url: broker.url, topic: 'homeassistant/+/+/state', qos: 1, username: 'ha', password: 'secret-pass' },
    });
    const read = await until('connected', async () => {
      const r = await readFeed(ow, 'ha-state');
      return r.status.state === 'connected' ? r : undefined;
    });
    expect(read.config).toMatchObject({ url: broker.url, topic: 'homeassistant/+/+/state', qos: 1, username: 'ha' });
    expect(JSON.stringify(read)).not.toContain('secret-pass');

    const echoes = async (): Promise<Echo[]> => (await ow.activations.list({ name: 'on-state', limit: 100, docs: true } as never)) as unknown as Echo[];
    const results = async () => (await echoes()).map((a) => a.response.result).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));

    await publisher.publishAsync('homeassistant/binary_sensor/hall_motion/state', 'on', { qos: 1 });
    await publisher.publishAsync('homeassistant/sensor/kitchen/state', JSON.stringify({ temperature: 21.5 }), { qos: 1 });
    await publisher.publishAsync('homeassistant/sensor/kitchen/attributes', 'not for this filter', { qos: 1 });
    await until('two activations', async () => ((await echoes()).length >= 2 ? true : undefined));
    await sleep(500);
    expect(await results()).toEqual([
      { topic: 'homeassistant/binary_sensor/hall_motion/state', payload: 'on', qos: 1, retain: false },
      { topic: 'homeassistant/sensor/kitchen/state', payload: { temperature: 21.5 }, qos: 1, retain: false },
    ]);

    // The broker goes away: a clear status, never a crash; it comes back: the feed reconnects by itself.
    await broker.stop();
    const failing = await until('failing', async () => {
      const r = await readFeed(ow, 'ha-state');
      return r.status.state === 'failing' ? r.status : undefined;
    });
    expect(failing.message).toMatch(/127\.0\.0\.1:\d+.*retrying in/);
    await broker.start();
    await until('connected again', async () => ((await readFeed(ow, 'ha-state')).status.state === 'connected' ? true : undefined), 30_000);
    const publisher2 = await connectAsync(broker.url, { username: 'ha', password: 'secret-pass', clientId: 'test-publisher-2', reconnectPeriod: 0 });
    clients.push(publisher2);
    await publisher2.publishAsync('homeassistant/light/porch/state', 'off', { qos: 1 });
    await until('a fire after the broker restart', async () => ((await echoes()).some((a) => a.response.result.topic === 'homeassistant/light/porch/state') ? true : undefined));

    // serve is killed; what is published meanwhile waits in the broker's session and fires after the restart.
    const exited = new Promise((ok) => first.child.once('exit', ok));
    first.child.kill('SIGKILL');
    await exited;
    await publisher2.publishAsync('homeassistant/lock/front_door/state', 'unlocked', { qos: 1 });
    await publisher2.publishAsync('homeassistant/lock/back_door/state', 'locked', { qos: 1 });
    const second = await startServe({ home: first.home, auth: first.auth });
    servers.push(second);
    ow = openwhisk({ apihost: second.url, api_key: second.auth });
    await until('the messages published while serve was down', async () => {
      const topics = (await echoes()).map((a) => a.response.result.topic);
      return topics.includes('homeassistant/lock/front_door/state') && topics.includes('homeassistant/lock/back_door/state') ? true : undefined;
    });
    expect((await echoes()).filter((a) => a.response.result.topic.startsWith('homeassistant/lock/')).map((a) => a.response.result.payload).sort()).toEqual([
      'locked',
      'unlocked',
    ]);

    // Bad credentials: refused at CREATE with the broker's reason, the password never echoed, nothing kept.
    await ow.triggers.create({ name: 'intruder' });
    const refused = await ow.feeds
      .create({ name: FEED, trigger: 'intruder', params: { url: broker.url, topic: 'homeassistant/#', username: 'ha', password: 'wrong-password-123' } })
      .then(
        () => undefined,
        (e: { statusCode: number; error: { response: { result: { error: string } } } }) => e,
      );
    expect(refused?.statusCode).toBe(502);
    expect(refused?.error.response.result.error).toMatch(/refused the credentials/);
    expect(JSON.stringify(refused?.error)).not.toContain('wrong-password-123');
    const none = await readFeed(ow, 'intruder').then(
      () => undefined,
      (e: { error: { response: { result: { error: string } } } }) => e.error.response.result.error,
    );
    expect(none).toMatch(/has no feed/);

    // Deleted cleanly: no more fires for new messages.
    await ow.feeds.delete({ name: FEED, trigger: 'ha-state' });
    const count = (await echoes()).length;
    await publisher2.publishAsync('homeassistant/sensor/kitchen/state', '{"temperature":30}', { qos: 1 });
    await sleep(1_000);
    expect((await echoes()).length).toBe(count);
  }, 120_000);
});
