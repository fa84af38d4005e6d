/**
 * The MQTT feed provider (src/feeds/mqtt-provider.ts) against a real mosquitto on 127.0.0.1 (test/helpers/mosquitto.ts),
 * with a FeedHost of the test's own that records fires and statuses, and the real clock.
 */
import { connectAsync, type MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SYSTEM_CLOCK } from '../../src/feeds/clock';
import { FeedParameterError, type FeedHost, type FeedRun, type FeedStatus, type FireOutcome } from '../../src/feeds/feed-provider';
import { parseMqttConfig } from '../../src/feeds/mqtt-config';
import { createMqttProvider, MAX_MESSAGE_BYTES, mqttProvider, type MqttConfig } from '../../src/feeds/mqtt-provider';
import { freePort } from '../helpers/node-red-process';
import { startMosquitto, type Mosquitto } from '../helpers/mosquitto';

/** Fast retries, so the tests that take the broker away do not wait seconds. */
const fast = createMqttProvider({ minBackoff: 100, maxBackoff: 800 });

interface Reported extends FeedStatus {
  readonly at: number;
}

/** A FeedHost that records; `outcome` decides what each fire resolves to (accepted at once by default). */
class TestHost implements FeedHost {
  readonly clock = SYSTEM_CLOCK;
  readonly saved = undefined;
  readonly fires: Record<string, unknown>[] = [];
  readonly statuses: Reported[] = [];
  outcome: (payload: Record<string, unknown>) => Promise<FireOutcome> = () => Promise.resolve({ fired: true, activationId: `a${this.fires.length}` });

  constructor(readonly trigger: string) {}

  fire(payload: Record<string, unknown>): Promise<FireOutcome> {
    this.fires.push(payload);
    return this.outcome(payload);
  }

  save(): void {}

  status(status: FeedStatus): void {
    this.statuses.push({ ...status, at: Date.now() });
  }

  finish(): void {}

  get last(): FeedStatus | undefined {
    return this.statuses.at(-1);
  }

  payloads(): unknown[] {
    return this.fires.map((f) => f['payload']);
  }
}

let counter = 0;
/** A trigger name, and so a client id, of the test's own. */
function trigger(): string {
  return `/guest/mqtt-${process.pid}-${++counter}`;
}

async function waitFor(condition: () => boolean, what: string, host?: TestHost, timeoutMs = 8000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${host === undefined ? '' : `; statuses: ${JSON.stringify(host.statuses)}; fires: ${JSON.stringify(host.fires)}`}`);
    await sleep(10);
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

const runs: FeedRun[] = [];
const publishers: MqttClient[] = [];
const brokers: Mosquitto[] = [];

async function broker(options?: Parameters<typeof startMosquitto>[0]): Promise<Mosquitto> {
  const started = await startMosquitto(options);
  brokers.push(started);
  return started;
}

function started(run: FeedRun): FeedRun {
  runs.push(run);
  return run;
}

async function publisher(url: string): Promise<MqttClient> {
  const client = await connectAsync(url, { clientId: `test-pub-${process.pid}-${++counter}`, reconnectPeriod: 0 });
  client.on('error', () => undefined);
  publishers.push(client);
  return client;
}

async function connected(host: TestHost): Promise<void> {
  await waitFor(() => host.last?.state === 'connected', 'the feed to be connected', host);
}

let shared: Mosquitto;
let pub: MqttClient;
let topicPrefix: string;

beforeAll(async () => {
  shared = await broker();
  pub = await publisher(shared.url);
  topicPrefix = `edgewhisk-test-${process.pid}`;
});

afterEach(async () => {
  await Promise.all(runs.splice(0).map((run) => run.stop()));
});

afterAll(async () => {
  await Promise.all(publishers.splice(0).map((client) => client.endAsync(true)));
  await Promise.all(brokers.splice(0).map((b) => b.close()));
});

/** Configures (CREATE) and starts a feed on the shared broker; resolves once it is subscribed. */
async function feed(params: Record<string, unknown>, options: { host?: TestHost; resumed?: boolean } = {}): Promise<{ host: TestHost; config: MqttConfig; run: FeedRun }> {
  const host = options.host ?? new TestHost(trigger());
  const config = await mqttProvider.configure({ url: shared.url, ...params }, undefined, host);
  const run = started(mqttProvider.start(config, host, options.resumed ?? false));
  await connected(host);
  return { host, config, run };
}

describe('MQTT feed: parameters', () => {
  it.each([
    [{ topic: 'a' }, "url parameter is required: the MQTT broker, e.g. mqtt://192.168.1.10:1883"],
    [{ url: 'http://127.0.0.1:1883', topic: 'a' }, "url parameter 'http://127.0.0.1:1883' is not an MQTT URL: use mqtt://host:port or mqtts://host:port (ws://host:port/path or wss://host:port/path for MQTT over WebSocket)"],
    [{ url: 'x', topic: 'a' }, "url parameter 'x' is not an MQTT URL: use mqtt://host:port or mqtts://host:port (ws://host:port/path or wss://host:port/path for MQTT over WebSocket)"],
    [{ url: 'mqtt://127.0.0.1:1883/some/path', topic: 'a' }, "url parameter 'mqtt://127.0.0.1:1883/some/path' has a path or query, which an MQTT URL does not take: use mqtt://host:port"],
    [{ url: 'mqtt://bob:hunter22@127.0.0.1', topic: 'a' }, 'url parameter must not hold credentials: pass them as the username and password parameters'],
    [{ url: 42, topic: 'a' }, 'url parameter must be a string such as mqtt://host:1883, got a number'],
    [{ url: 'mqtt://127.0.0.1' }, 'topic parameter is required: a topic filter such as home/+/state, or an array of them'],
    [{ url: 'mqtt://127.0.0.1', topic: '' }, "topic parameter '' is not a valid topic filter: a topic filter must not be empty"],
    [{ url: 'mqtt://127.0.0.1', topic: [] }, 'topic parameter must name at least one topic filter'],
    [{ url: 'mqtt://127.0.0.1', topic: 'home/#/state' }, "topic parameter 'home/#/state' is not a valid topic filter: '#' must be the last level of a topic filter, alone in its level (a/b/#)"],
    [{ url: 'mqtt://127.0.0.1', topic: 'home/ab#' }, "topic parameter 'home/ab#' is not a valid topic filter: '#' must be the last level of a topic filter, alone in its level (a/b/#)"],
    [{ url: 'mqtt://127.0.0.1', topic: ['ok/+', 'home/a+/state'] }, "topic parameter 'home/a+/state' is not a valid topic filter: '+' must be alone in its level of a topic filter (a/+/c)"],
    [{ url: 'mqtt://127.0.0.1', topic: { a: 1 } }, 'topic parameter must be a topic filter or an array of them, got an object'],
    [{ url: 'mqtt://127.0.0.1', topic: 'a', qos: 3 }, 'qos parameter must be 0, 1 or 2, got a number'],
    [{ url: 'mqtt://127.0.0.1', topic: 'a', qos: 'high' }, "qos parameter must be 0, 1 or 2, got 'high'"],
    [{ url: 'mqtt://127.0.0.1', topic: 'a', password: 'hunter22' }, 'password parameter needs a username parameter (MQTT sends no password without a user name)'],
    [{ url: 'mqtt://127.0.0.1', topic: 'a', cleanSession: 'maybe' }, "cleanSession parameter must be true or false, got 'maybe'"],
  ])('refuses %j with a message naming the parameter', async (params, message) => {
    const error = await Promise.resolve()
      .then(() => mqttProvider.configure(params, undefined, { trigger: trigger(), clock: SYSTEM_CLOCK }))
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(FeedParameterError);
    expect((error as Error).message).toBe(message);
    expect((error as Error).message).not.toContain('hunter22');
  });

  it('normalises the config: default ports, qos as a string, a client id per feed kept across updates, persistent sessions for qos 1; describe leaves the password out', async () => {
    const port = await freePort(); // nothing listens: the check cannot reach a broker, and CREATE is accepted anyway
    const host = { trigger: '/guest/kitchen', clock: SYSTEM_CLOCK };
    const config = await mqttProvider.configure({ url: `mqtt://127.0.0.1:${port}`, topic: '["home/+/state","home/#"]', qos: '1', username: 'bob', password: 'hunter22' }, undefined, host);
    expect(config).toMatchObject({ url: `mqtt://127.0.0.1:${port}`, topic: ['home/+/state', 'home/#'], qos: 1, username: 'bob', password: 'hunter22' });
    expect(config.clientId).toMatch(/^edgewhisk-[0-9a-f]{12}$/);
    // Kept by UPDATE (it is in the stored config, which is what a restart resumes with) …
    expect((await mqttProvider.configure({ qos: '0' }, config, host)).clientId).toBe(config.clientId);
    // … and unique per feed: a second engine's trigger of the same name gets another id.
    expect((await mqttProvider.configure({ url: `mqtt://127.0.0.1:${port}`, topic: 'x' }, undefined, host)).clientId).not.toBe(config.clientId);
    expect((await mqttProvider.configure({ url: `mqtt://127.0.0.1:${port}`, topic: 'x' }, undefined, { ...host, trigger: '/guest/hall' })).clientId).not.toBe(config.clientId);
    const described = mqttProvider.describe(config);
    expect(described).toEqual({ url: `mqtt://127.0.0.1:${port}`, topic: ['home/+/state', 'home/#'], qos: 1, clientId: config.clientId, cleanSession: false, username: 'bob' });
    expect(JSON.stringify(described)).not.toContain('hunter22');
    // Default ports; the path of a WebSocket URL is kept; qos 0 sessions are clean.
    const parse = (params: Record<string, unknown>): MqttConfig => parseMqttConfig({ topic: 'a', ...params }, undefined, '/guest/t');
    expect(parse({ url: 'mqtt://broker.lan' }).url).toBe('mqtt://broker.lan:1883');
    expect(parse({ url: 'mqtts://broker.lan' }).url).toBe('mqtts://broker.lan:8883');
    expect(parse({ url: 'ws://broker.lan:9001/mqtt' }).url).toBe('ws://broker.lan:9001/mqtt');
    expect(parse({ url: 'mqtt://[::1]:1884/' }).url).toBe('mqtt://[::1]:1884');
    expect(mqttProvider.describe(parse({ url: 'mqtt://broker.lan' }))).toMatchObject({ qos: 0, cleanSession: true, topic: 'a' });
    expect(mqttProvider.describe(parse({ url: 'mqtt://broker.lan', qos: 2, cleanSession: 'true' }))).toMatchObject({ qos: 2, cleanSession: true });
  });

  it('UPDATE changes only the parameters given, and an empty username and password remove them', async () => {
    const port = await freePort();
    const host = { trigger: '/guest/update', clock: SYSTEM_CLOCK };
    const created = await mqttProvider.configure({ url: `mqtt://127.0.0.1:${port}`, topic: 'a/#', qos: 2, username: 'bob', password: 'hunter22', clientId: 'mine' }, undefined, host);
    const updated = await mqttProvider.configure({ topic: ['b/+'] }, created, host);
    expect(updated).toEqual({ ...created, topic: ['b/+'] });
    const anonymous = await mqttProvider.configure({ username: '', password: '' }, updated, host);
    expect(anonymous).toEqual({ url: created.url, topic: ['b/+'], qos: 2, clientId: 'mine' });
  });
});

describe('MQTT feed: firing', () => {
  it('fires with the topic and the JSON-decoded payload', async () => {
    const topic = `${topicPrefix}/json`;
    const { host } = await feed({ topic });
    await pub.publishAsync(topic, JSON.stringify({ temperature: 21.5, room: 'kitchen' }));
    await pub.publishAsync(topic, '21.5');
    await waitFor(() => host.fires.length === 2, 'two fires', host);
    expect(host.fires).toEqual([
      { topic, payload: { temperature: 21.5, room: 'kitchen' }, qos: 0, retain: false },
      { topic, payload: 21.5, qos: 0, retain: false },
    ]);
    expect(host.statuses.map((s) => s.state)).toEqual(['connecting', 'connected']);
    expect(host.statuses.map((s) => s.message)).toEqual([`connecting to ${shared.url}`, `subscribed to ${topic}`]);
  });

  it('fires a text payload as a string, and bytes that are not UTF-8 as base64', async () => {
    const topic = `${topicPrefix}/text`;
    const { host } = await feed({ topic });
    await pub.publishAsync(topic, 'on {not json');
    await pub.publishAsync(topic, Buffer.from([0xff, 0xfe, 0x00, 0x80]));
    await pub.publishAsync(topic, '');
    await waitFor(() => host.fires.length === 3, 'three fires', host);
    expect(host.fires).toEqual([
      { topic, payload: 'on {not json', qos: 0, retain: false },
      { topic, payload: Buffer.from([0xff, 0xfe, 0x00, 0x80]).toString('base64'), encoding: 'base64', qos: 0, retain: false },
      { topic, payload: '', qos: 0, retain: false },
    ]);
  });

  it('matches wildcard filters: home/+/state and home/# fire, other topics do not', async () => {
    const home = `${topicPrefix}/home`;
    const plus = await feed({ topic: `${home}/+/state` });
    const hash = await feed({ topic: [`${home}/#`] });
    const published = [`${home}/kitchen/state`, `${home}/kitchen/light/state`, `${home}`, `${home}/hall/state`, `${topicPrefix}/garden/state`, `${home}/kitchen/status`];
    for (const topic of published) await pub.publishAsync(topic, topic);
    // A last message both see: everything before it has been handled.
    await pub.publishAsync(`${home}/end/state`, 'end');
    await waitFor(() => plus.host.fires.at(-1)?.['payload'] === 'end' && hash.host.fires.at(-1)?.['payload'] === 'end', 'the end marker', plus.host);
    expect(plus.host.fires.map((f) => f['topic'])).toEqual([`${home}/kitchen/state`, `${home}/hall/state`, `${home}/end/state`]);
    expect(hash.host.fires.map((f) => f['topic'])).toEqual([`${home}/kitchen/state`, `${home}/kitchen/light/state`, `${home}`, `${home}/hall/state`, `${home}/kitchen/status`, `${home}/end/state`]);
  });

  it('fires a retained message with retain: true when the feed subscribes', async () => {
    const topic = `${topicPrefix}/retained`;
    await pub.publishAsync(topic, '"kept"', { retain: true, qos: 1 });
    const { host } = await feed({ topic });
    await waitFor(() => host.fires.length === 1, 'the retained message', host);
    expect(host.fires[0]).toEqual({ topic, payload: 'kept', qos: 0, retain: true });
    await pub.publishAsync(topic, '', { retain: true, qos: 1 });
  });

  it('fires qos 2 messages once each, with qos 2', async () => {
    const topic = `${topicPrefix}/qos2`;
    const { host } = await feed({ topic, qos: 2 });
    for (const n of [1, 2, 3]) await pub.publishAsync(topic, String(n), { qos: 2 });
    await waitFor(() => host.fires.length === 3, 'three fires', host);
    await sleep(200);
    expect(host.fires).toEqual([1, 2, 3].map((n) => ({ topic, payload: n, qos: 2, retain: false })));
  });

  it('does not fire a message over 1 MiB, counts it in the connected status, and keeps firing', async () => {
    const topic = `${topicPrefix}/large`;
    const { host } = await feed({ topic });
    await pub.publishAsync(topic, Buffer.alloc(MAX_MESSAGE_BYTES + 1, 0x61));
    await pub.publishAsync(topic, Buffer.alloc(MAX_MESSAGE_BYTES, 0x62));
    await pub.publishAsync(topic, 'small');
    await waitFor(() => host.fires.length === 2, 'two fires', host);
    expect((host.fires[0]?.['payload'] as string).length).toBe(MAX_MESSAGE_BYTES);
    expect(host.fires[1]?.['payload']).toBe('small');
    expect(host.last).toEqual({ state: 'connected', message: `subscribed to ${topic}; 1 message over 1048576 bytes dropped`, at: expect.any(Number) });
  });
});

describe('MQTT feed: sessions and acknowledgement', () => {
  it('qos 1: messages published while the feed was stopped fire when it starts again resumed (persistent session)', async () => {
    const topic = `${topicPrefix}/persistent`;
    const first = await feed({ topic, qos: 1 });
    expect(first.config.cleanSession).toBeUndefined();
    await first.run.stop();
    for (const n of [1, 2, 3]) await pub.publishAsync(topic, JSON.stringify({ n }), { qos: 1 });
    const again = new TestHost(first.host.trigger);
    const began = Date.now();
    started(mqttProvider.start(first.config, again, true));
    await waitFor(() => again.fires.length === 3, 'the three kept messages', again);
    console.log(`mosquitto kept 3 qos 1 messages for the stopped feed; they fired ${Date.now() - began} ms after the resumed start`);
    expect(again.fires).toEqual([1, 2, 3].map((n) => ({ topic, payload: { n }, qos: 1, retain: false })));
    expect(first.host.fires).toEqual([]);
  });

  it('qos 1: a feed that starts fresh (not resumed) clears what the broker kept for its client id', async () => {
    const topic = `${topicPrefix}/fresh`;
    const first = await feed({ topic, qos: 1 });
    await first.run.stop();
    for (const n of [1, 2]) await pub.publishAsync(topic, `stale ${n}`, { qos: 1 });
    const again = new TestHost(first.host.trigger);
    started(mqttProvider.start(first.config, again, false));
    await connected(again);
    await pub.publishAsync(topic, 'new', { qos: 1 });
    await waitFor(() => again.fires.length > 0, 'a fire', again);
    await sleep(200);
    expect(again.payloads()).toEqual(['new']);
  });

  it('qos 1: a resumed session that still holds the subscription of an earlier topic does not fire for that topic', async () => {
    const old = `${topicPrefix}/earlier`;
    const current = `${topicPrefix}/current`;
    const first = await feed({ topic: old, qos: 1 });
    await first.run.stop();
    // UPDATE while stopped; the broker's session still subscribes to the earlier topic.
    const updated = await mqttProvider.configure({ topic: current }, first.config, first.host);
    const again = new TestHost(first.host.trigger);
    started(mqttProvider.start(updated, again, true));
    await connected(again);
    await pub.publishAsync(old, '"earlier"', { qos: 1 });
    await pub.publishAsync(current, '"current"', { qos: 1 });
    await waitFor(() => again.fires.length > 0, 'a fire', again);
    await sleep(200);
    expect(again.fires).toEqual([{ topic: current, payload: 'current', qos: 1, retain: false }]);
    // The broker did deliver the earlier topic's message to the feed's client: the feed dropped it.
    expect(shared.log()).toMatch(new RegExp(`Sending PUBLISH to ${first.config.clientId} \\(d0, q1, r0, m\\d+, '${old}'`));
  });

  it('qos 1: acknowledges a message only once its fire resolved, so one whose fire was pending at stop comes again', async () => {
    const topic = `${topicPrefix}/ack`;
    const host = new TestHost(trigger());
    let accept: (() => void) | undefined;
    host.outcome = () => new Promise((resolve) => (accept = () => resolve({ fired: true })));
    const { config, run } = await feed({ topic, qos: 1 }, { host });
    await pub.publishAsync(topic, '"m1"', { qos: 1 });
    await pub.publishAsync(topic, '"m2"', { qos: 1 });
    await waitFor(() => host.fires.length === 1, 'the first fire', host);
    // The second is not read, let alone fired, while the first fire is pending.
    await sleep(300);
    expect(host.payloads()).toEqual(['m1']);
    await run.stop();
    accept?.();
    const again = new TestHost(host.trigger);
    started(mqttProvider.start(config, again, true));
    await waitFor(() => again.fires.length === 2, 'both messages again', again);
    expect(again.payloads()).toEqual(['m1', 'm2']);
    expect(host.payloads()).toEqual(['m1']);
  });

  it('qos 0: with maxInFlight fires pending it reads no further until one resolves', async () => {
    const provider = createMqttProvider({ maxInFlight: 2 });
    const topic = `${topicPrefix}/inflight`;
    const host = new TestHost(trigger());
    const pending: (() => void)[] = [];
    let open = false;
    host.outcome = () => (open ? Promise.resolve({ fired: true }) : new Promise((resolve) => pending.push(() => resolve({ fired: true }))));
    const config = await provider.configure({ url: shared.url, topic }, undefined, host);
    started(provider.start(config, host, false));
    await connected(host);
    for (const n of [1, 2, 3, 4, 5]) await pub.publishAsync(topic, String(n));
    await waitFor(() => host.fires.length === 2, 'two fires', host);
    await sleep(300);
    expect(host.payloads()).toEqual([1, 2]);
    open = true;
    pending.splice(0).forEach((resolve) => resolve());
    await waitFor(() => host.fires.length === 5, 'all five fires', host);
    expect(host.payloads()).toEqual([1, 2, 3, 4, 5]);
  });

  it('ends the feed when a fire says the trigger is gone', async () => {
    const topic = `${topicPrefix}/gone`;
    const host = new TestHost(trigger());
    host.outcome = () => Promise.resolve({ fired: false, reason: 'the trigger was deleted', gone: true });
    const { config } = await feed({ topic }, { host });
    await pub.publishAsync(topic, 'first');
    await shared.waitForLog(new RegExp(`Client ${config.clientId} disconnected`));
    await pub.publishAsync(topic, 'second');
    await sleep(200);
    expect(host.payloads()).toEqual(['first']);
  });

  it('remove ends the persistent session: nothing kept fires afterwards', async () => {
    const topic = `${topicPrefix}/remove`;
    const first = await feed({ topic, qos: 1 });
    await first.run.stop();
    await pub.publishAsync(topic, 'kept', { qos: 1 });
    await mqttProvider.remove(first.config);
    // A resumed start would get the kept message had the session survived (see the persistent session test).
    const again = new TestHost(first.host.trigger);
    started(mqttProvider.start(first.config, again, true));
    await connected(again);
    await pub.publishAsync(topic, 'after', { qos: 1 });
    await waitFor(() => again.fires.length > 0, 'a fire', again);
    await sleep(200);
    expect(again.payloads()).toEqual(['after']);
  });
});

describe('MQTT feed: stop', () => {
  it('stop closes the connection (DISCONNECT, socket closed) and no fire follows', async () => {
    const topic = `${topicPrefix}/stop`;
    const sockets = (): number => process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap').length;
    const before = sockets();
    const { host, config, run } = await feed({ topic });
    expect(sockets()).toBe(before + 1);
    await pub.publishAsync(topic, 'before');
    await waitFor(() => host.fires.length === 1, 'a fire', host);
    const stopping = run.stop();
    expect(run.stop()).toBe(stopping);
    await stopping;
    expect(sockets()).toBe(before);
    await shared.waitForLog(new RegExp(`Received DISCONNECT from ${config.clientId}\\n.*Client ${config.clientId} disconnected\\.`));
    await pub.publishAsync(topic, 'after');
    await sleep(300);
    expect(host.payloads()).toEqual(['before']);
  });

  it('stop during the backoff wait cancels the retry: no further attempt, no further status', async () => {
    const port = await freePort();
    const host = new TestHost(trigger());
    const config = await fast.configure({ url: `mqtt://127.0.0.1:${port}`, topic: 'a' }, undefined, host);
    const run = fast.start(config, host, false);
    await waitFor(() => host.last?.state === 'failing', 'a failing status', host);
    await run.stop();
    const count = host.statuses.length;
    await sleep(500);
    expect(host.statuses.length).toBe(count);
  });
});

describe('MQTT feed: the broker goes away', () => {
  it('reconnects by itself after the broker restarts, and fires again', async () => {
    const restarting = await broker();
    const topic = `${topicPrefix}/restart`;
    const host = new TestHost(trigger());
    const config = await fast.configure({ url: restarting.url, topic, qos: 1 }, undefined, host);
    started(fast.start(config, host, false));
    await connected(host);
    await restarting.stop();
    await waitFor(() => host.last?.state === 'failing', 'a failing status', host);
    expect(host.last?.message).toMatch(new RegExp(`^connection to 127\\.0\\.0\\.1:${restarting.port} lost: the broker closed the connection, retrying in 100 ms$`));
    // Counted before the start: the feed may reconnect before start() has returned.
    const failures = host.statuses.length;
    await restarting.start();
    await waitFor(() => host.statuses.length > failures && host.last?.state === 'connected', 'the feed to reconnect', host);
    const publisherAgain = await publisher(restarting.url);
    await publisherAgain.publishAsync(topic, '"back"', { qos: 1 });
    await waitFor(() => host.fires.length === 1, 'a fire after the restart', host);
    expect(host.fires[0]).toEqual({ topic, payload: 'back', qos: 1, retain: false });
  });

  it('backs off: failing reports announce 100, 200, 400, 800, 800 ms and the attempts are that far apart; a connection resets it', async () => {
    const down = await broker();
    await down.stop();
    const host = new TestHost(trigger());
    const config = await fast.configure({ url: down.url, topic: 'a' }, undefined, host);
    started(fast.start(config, host, false));
    const failing = (): Reported[] => host.statuses.filter((s) => s.state === 'failing');
    await waitFor(() => failing().length >= 5, 'five failing reports', host);
    const reports = failing().slice(0, 5);
    const announced = reports.map((s) => Number(/retrying in (\d+) ms$/.exec(s.message)?.[1]));
    expect(announced).toEqual([100, 200, 400, 800, 800]);
    expect(reports[0]?.message).toBe(`connection refused by 127.0.0.1:${down.port}, retrying in 100 ms`);
    for (let i = 1; i < reports.length; i++) {
      const gap = (reports[i]?.at ?? 0) - (reports[i - 1]?.at ?? 0);
      expect(gap).toBeGreaterThanOrEqual((announced[i - 1] ?? 0) - 5);
    }
    expect(host.statuses[0]).toMatchObject({ state: 'connecting', message: `connecting to ${down.url}` });
    await down.start();
    await waitFor(() => host.last?.state === 'connected', 'the feed to connect', host, 3000);
    const before = failing().length;
    await down.stop();
    await waitFor(() => failing().length > before, 'a failing report after the connection', host);
    expect(failing()[before]?.message).toBe(`connection to 127.0.0.1:${down.port} lost: the broker closed the connection, retrying in 100 ms`);
  });
});

describe('MQTT feed: credentials', () => {
  let secured: Mosquitto;
  beforeAll(async () => {
    secured = await broker({ users: { alice: 'right-horse-battery' } });
  });

  it('CREATE with credentials the broker refuses fails with FeedParameterError, without the password', async () => {
    const error = await Promise.resolve(mqttProvider.configure({ url: secured.url, topic: 'a', username: 'alice', password: 'wrong-staple-42' }, undefined, { trigger: trigger(), clock: SYSTEM_CLOCK })).then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(FeedParameterError);
    expect((error as Error).message).toBe(`the MQTT broker at ${secured.url} refused the credentials: Not authorized`);
    expect((error as Error).message).not.toContain('wrong-staple-42');
    // The check disconnected: the broker logged the refusal and holds no connection of it.
    await secured.waitForLog(/disconnected, not authorised/);
  });

  it('CREATE with credentials the broker accepts succeeds, and the feed fires', async () => {
    const host = new TestHost(trigger());
    const topic = `${topicPrefix}/secured`;
    const config = await mqttProvider.configure({ url: secured.url, topic, username: 'alice', password: 'right-horse-battery' }, undefined, host);
    started(mqttProvider.start(config, host, false));
    await connected(host);
    const authorised = await connectAsync(secured.url, { username: 'alice', password: 'right-horse-battery', reconnectPeriod: 0 });
    publishers.push(authorised);
    await authorised.publishAsync(topic, 'hello');
    await waitFor(() => host.fires.length === 1, 'a fire', host);
  });

  it('CREATE accepts a broker that does not answer (it may be rebooting), after one quick attempt', async () => {
    const port = await freePort();
    const began = Date.now();
    const config = await mqttProvider.configure({ url: `mqtt://127.0.0.1:${port}`, topic: 'a', username: 'alice', password: 'pw' }, undefined, { trigger: trigger(), clock: SYSTEM_CLOCK });
    expect(config.url).toBe(`mqtt://127.0.0.1:${port}`);
    expect(Date.now() - began).toBeLessThan(5000);
  });

  it('a password changed on the broker after CREATE makes the running feed fail, retrying after maxBackoff, without a crash or the password', async () => {
    const host = new TestHost(trigger());
    const config = await fast.configure({ url: secured.url, topic: 'a', username: 'alice', password: 'right-horse-battery' }, undefined, host);
    await secured.setUsers({ alice: 'changed-on-the-broker' });
    try {
      const run = started(fast.start(config, host, false));
      await waitFor(() => host.last?.state === 'failing', 'a failing status', host);
      expect(host.last?.message).toBe('the broker refused the credentials: Not authorized, retrying in 800 ms');
      expect(JSON.stringify(host.statuses)).not.toContain('right-horse-battery');
      expect(host.fires).toEqual([]);
      await run.stop();
    } finally {
      await secured.setUsers({ alice: 'right-horse-battery' });
    }
  });
});
