// The feeds (docs/feeds.md) against their physical limits, measured in the same process and run:
//
//   1. Alarm timing: an alarm `* * * * * *` (every second) on a trigger with a rule to a no-op action, on a memory
//      engine and on a durable one (`store: <file>`), one after the other (order alternated per round). Per fire:
//      how late after its second boundary the fire started (the rule's invocation queued, `activation:queued`,
//      high-resolution; and the trigger activation's `start`, Date.now), was accepted (`feed:fired`) and the rule's
//      action ended (its activation's `end`). The physical limit runs all along in the same event loop: a bare
//      setTimeout chain aimed at the half-second boundaries (so the two never collide) the way the alarm's clock
//      aims (src/feeds/clock.ts: setTimeout(due - Date.now()), unref'd, re-armed when it wakes before Date.now has
//      reached the target), its lateness taken the same two ways.
//   2. MQTT: mosquitto on 127.0.0.1 (bench/lib/mosquitto.mjs), a memory engine with the MQTT feed on `bench/#` and
//      a rule to the no-op action, at qos 0 and qos 1. Messages one at a time: publish (MQTT.js) → the rule's
//      action activation completed (`activation:completed`, matched to the message by the id in its payload
//      through the trigger activation), alternating message by message with the physical limit: a bare MQTT.js
//      subscriber on the same broker (`bare/#`, same qos), publish → its 'message' event. Burst: 1000 qos 0
//      messages published back to back → 1000 action activations completed, vs the bare subscriber receiving 1000.
//
//   node --expose-gc bench/feeds.bench.mjs [--quick] [--round=N]
//
// Talks to 127.0.0.1 only. The broker, the engines, the clients and the temporary folder are cleaned up on success,
// on failure, on SIGINT/SIGTERM and at an internal deadline (before bench/run.mjs's 300 s kill).
import fs from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { emit, loadEngine, log, median, now, parseArgs, settleGc, summarize } from './lib/common.mjs';
import { startMosquitto } from './lib/mosquitto.mjs';

const args = parseArgs();
const quick = args.quick === true;
const round = Number(args.round ?? 0);
const cfg = quick
  ? { warmupFires: 1, fires: 5, warmupMessages: 50, messages: 100, burst: 1000, burstReps: 1, lostAfterMs: 5000 }
  : { warmupFires: 2, fires: 20, warmupMessages: 500, messages: 500, burst: 1000, burstReps: 3, lostAfterMs: 5000 };
const CODE = 'function main(){return {}}';
const ENGINE_OPTIONS = { prewarmCount: 1 };
const ALARM = '/whisk.system/alarms/alarm';
const MQTT_FEED = '/whisk.system/mqtt/subscribe';
const DEADLINE_MS = 240_000;

const { createEngine } = loadEngine();
const tmp = fs.mkdtempSync(join(os.tmpdir(), 'ew-bench-feeds-'));

// ---- errors and cleanup ---------------------------------------------------------------------------------------------
let errors = 0;
const problems = [];
/** Anything that went wrong and is not a figure: counted (`n` times: n missed fires), the first 50 kept with what happened. */
function problem(where, detail, n = 1) {
  errors += n;
  if (problems.length < 50) problems.push(`${where}: ${detail}`);
  log(`problem: ${where}: ${detail}`);
}

const cleanups = [];
let cleaning;
function cleanup() {
  cleaning ??= (async () => {
    while (cleanups.length > 0) {
      const fn = cleanups.pop();
      try {
        await fn();
      } catch (error) {
        log(`cleanup failed: ${error?.stack ?? error}`);
      }
    }
    fs.rmSync(tmp, { recursive: true, force: true });
  })();
  return cleaning;
}
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    log(`${signal}: cleaning up`);
    cleanup().finally(() => process.exit(130));
  });
}
const watchdog = setTimeout(() => {
  log(`deadline of ${DEADLINE_MS / 1000} s reached: cleaning up`);
  cleanup().finally(() => process.exit(1));
}, DEADLINE_MS);
watchdog.unref();

/** A count that can be awaited: `wait(n, ms)` resolves true once the count reaches n, false after ms. */
class Counter {
  count = 0;
  #waits = [];
  inc() {
    this.count++;
    for (const w of this.#waits) if (this.count >= w.n) w.done(true);
  }
  wait(n, ms) {
    if (this.count >= n) return Promise.resolve(true);
    return new Promise((resolve) => {
      const w = {
        n,
        done: (ok) => {
          clearTimeout(timer);
          this.#waits = this.#waits.filter((x) => x !== w);
          resolve(ok);
        },
      };
      const timer = setTimeout(() => w.done(false), ms);
      this.#waits.push(w);
    });
  }
}

/** Per-id waiters that resolve with a time (bigint) or undefined after a timeout; later arrivals are duplicates. */
class Deliveries {
  #waiting = new Map();
  #seen = new Set();
  duplicates = 0;
  arrived(id, t) {
    if (this.#seen.has(id)) {
      this.duplicates++;
      return;
    }
    this.#seen.add(id);
    const w = this.#waiting.get(id);
    if (w !== undefined) w(t);
  }
  wait(id, ms) {
    return new Promise((resolve) => {
      const timer = setTimeout(() => finish(undefined), ms);
      const finish = (t) => {
        clearTimeout(timer);
        this.#waiting.delete(id);
        resolve(t);
      };
      this.#waiting.set(id, finish);
    });
  }
}

// ---- a high-resolution wall clock -----------------------------------------------------------------------------------
// Fire times are whole seconds of Date.now (the alarm's clock); Date.now has 1 ms steps. performance.now (monotonic,
// sub-µs) is mapped onto it at the instant Date.now steps to a new ms, found by spinning (< 1 ms). The two clocks
// drift apart (NTP slews the wall clock), so the mapping is taken again at every bare timer wake (the half-second,
// away from the alarm's fires). A mapping can only come out too small (the thread preempted between the step and the
// performance.now read: seen here up to 0.6 ms on a 2-vCPU VM), so the largest of the last five is used; all of them
// are reported.
// performance is loaded lazily by Node on first use (milliseconds): used once before the first mapping.
for (let i = 0; i < 1000; i++) performance.now();
function calibrate() {
  const t0 = Date.now();
  let t;
  while ((t = Date.now()) === t0);
  return t - performance.now();
}
const offsets = [calibrate(), calibrate(), calibrate()];
const allOffsets = [...offsets];
let epochOffset = Math.max(...offsets);
function recalibrate() {
  const o = calibrate();
  allOffsets.push(o);
  offsets.push(o);
  if (offsets.length > 5) offsets.shift();
  epochOffset = Math.max(...offsets);
}
const hiNow = () => performance.now() + epochOffset;

// ---- the physical limit of a timer: a bare setTimeout chain at the half-second boundaries ----------------------------
function bareTimerChain() {
  const samples = [];
  let phase;
  let stopped = false;
  let handle;
  let earlyWakes = 0;
  const arm = () => {
    if (stopped) return;
    let target = Math.floor(Date.now() / 1000) * 1000 + 500;
    if (target <= Date.now()) target += 1000;
    const wake = () => {
      const hi = hiNow();
      const ms = Date.now();
      if (ms < target) {
        // Woke before Date.now reached the target: wait on, as the alarm does (its wake finds nothing due).
        earlyWakes++;
        handle = setTimeout(wake, target - ms);
        handle.unref();
        return;
      }
      if (phase !== undefined) samples.push({ phase, ms: ms - target, hi: hi - target });
      recalibrate();
      arm();
    };
    handle = setTimeout(wake, target - Date.now());
    handle.unref();
  };
  arm();
  return {
    samples,
    setPhase: (p) => (phase = p),
    stop: () => ((stopped = true), clearTimeout(handle)),
    earlyWakes: () => earlyWakes,
  };
}

const msStats = (values) => (values.length === 0 ? { n: 0 } : summarize(values));

/** Least-squares slope of `values` against their index: ms per fire (lateness that grows shows here). */
function slope(values) {
  const n = values.length;
  if (n < 2) return NaN;
  const mx = (n - 1) / 2;
  const my = values.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  values.forEach((y, x) => {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  });
  return num / den;
}

function actionIdsOf(triggerRecord) {
  const ids = [];
  for (const line of triggerRecord.logs ?? []) {
    try {
      const entry = JSON.parse(line);
      if (entry.success === true && typeof entry.activationId === 'string') ids.push(entry.activationId);
      else problem('rule', `a rule's invocation was refused: ${line}`);
    } catch {
      problem('rule', `unreadable trigger log line ${line}`);
    }
  }
  return ids;
}

// ---- 1. alarms --------------------------------------------------------------------------------------------------------
async function alarmPhase(kind, bare) {
  const store = kind === 'durable' ? join(tmp, `alarm-${round}.db`) : 'memory';
  const engine = createEngine({ ...ENGINE_OPTIONS, store });
  let open = true;
  const close = async () => {
    if (open) {
      open = false;
      await engine.close();
    }
  };
  cleanups.push(close);
  const queued = new Map();
  const fired = new Map();
  const triggerRecords = [];
  const actions = new Map();
  const done = new Counter();
  const statuses = [];
  engine.on('activation:queued', (info) => {
    if (info.name === 'noop') queued.set(info.activationId, hiNow());
  });
  engine.on('feed:fired', (event) => {
    const t = hiNow();
    if (event.activationId === undefined) problem(`alarm ${kind}`, 'a fire without a trigger activation (no active rule?)');
    else fired.set(event.activationId, t);
  });
  engine.on('activation:completed', (a) => {
    const t = hiNow();
    if (a.name === 'tick') triggerRecords.push(a);
    else if (a.name === 'noop') {
      actions.set(a.activationId, { end: a.end, hi: t, success: a.response.success });
      if (!a.response.success) problem(`alarm ${kind}`, `action failed: ${JSON.stringify(a.response.result)}`);
      done.inc();
    }
  });
  engine.on('feed:status', (s) => {
    if (s.state !== 'scheduled') statuses.push(`${s.state}: ${s.message}`);
    if (s.state === 'failing') problem(`alarm ${kind}`, `feed status ${s.state}: ${s.message}`);
  });
  await engine.actions.create({ name: 'noop', action: CODE });
  await engine.triggers.create({ name: 'tick' });
  await engine.rules.create({ name: 'tick-noop', trigger: 'tick', action: 'noop' });
  const created = await engine.feeds.create({ name: ALARM, trigger: 'tick', params: { cron: '* * * * * *' } });
  if (!created.response.success) throw new Error(`alarm ${kind}: CREATE failed: ${JSON.stringify(created.response.result)}`);
  const createdAt = Date.now();
  if (!(await done.wait(cfg.warmupFires, (cfg.warmupFires + 3) * 1000))) problem(`alarm ${kind}`, `warm-up: ${done.count}/${cfg.warmupFires} fires completed`);
  bare.setPhase(kind);
  const total = cfg.warmupFires + cfg.fires;
  if (!(await done.wait(total, (cfg.fires + 10) * 1000))) problem(`alarm ${kind}`, `${done.count}/${total} fires completed in ${((Date.now() - createdAt) / 1000).toFixed(1)} s`);
  bare.setPhase(undefined);
  await engine.feeds.delete({ name: ALARM, trigger: 'tick' });
  await close();

  // One row per fire, in order; the warm-up fires are left out.
  const fires = triggerRecords
    .map((t) => ({ trigger: t, actionId: actionIdsOf(t)[0] }))
    .sort((a, b) => a.trigger.start - b.trigger.start)
    .slice(cfg.warmupFires)
    .map(({ trigger, actionId }) => {
      const boundary = Math.floor(trigger.start / 1000) * 1000;
      const action = actions.get(actionId);
      return {
        boundary,
        startMs: trigger.start - boundary,
        queued: queued.has(actionId) ? queued.get(actionId) - boundary : NaN,
        accepted: fired.has(trigger.activationId) ? fired.get(trigger.activationId) - boundary : NaN,
        endMs: action?.end !== undefined ? action.end - boundary : NaN,
        completed: action !== undefined ? action.hi - boundary : NaN,
      };
    });
  let missed = 0;
  let duplicates = 0;
  for (let i = 1; i < fires.length; i++) {
    const gap = (fires[i].boundary - fires[i - 1].boundary) / 1000;
    if (gap === 0) duplicates++;
    else if (gap > 1) missed += gap - 1;
  }
  if (missed > 0) problem(`alarm ${kind}`, `${missed} second boundaries without a fire`, missed);
  if (duplicates > 0) problem(`alarm ${kind}`, `${duplicates} boundaries fired twice`, duplicates);
  for (const f of fires) if (![f.queued, f.accepted, f.completed].every(Number.isFinite)) problem(`alarm ${kind}`, `fire at ${new Date(f.boundary).toISOString()} not seen through (queued/fired/completed)`);
  const pick = (key) => fires.map((f) => f[key]).filter(Number.isFinite);
  const bareSamples = bare.samples.filter((s) => s.phase === kind);
  const half = Math.floor(fires.length / 2);
  const out = {
    store: kind === 'durable' ? 'file' : 'memory',
    fires: fires.length,
    fireStartMs: msStats(pick('startMs')),
    fireQueued: msStats(pick('queued')),
    fireAccepted: msStats(pick('accepted')),
    endToEndMs: msStats(pick('endMs')),
    endToEndCompleted: msStats(pick('completed')),
    bare: { n: bareSamples.length, hi: msStats(bareSamples.map((s) => s.hi)), ms: msStats(bareSamples.map((s) => s.ms)) },
    boundariesSpanned: fires.length === 0 ? 0 : (fires.at(-1).boundary - fires[0].boundary) / 1000 + 1,
    missedBoundaries: missed,
    duplicateFires: duplicates,
    trend: {
      firstHalfQueuedP50: median(pick('queued').slice(0, half)),
      secondHalfQueuedP50: median(pick('queued').slice(half)),
      queuedSlopeMsPerFire: slope(pick('queued')),
      endToEndSlopeMsPerFire: slope(pick('completed')),
    },
    statuses: statuses.slice(0, 10),
    perFire: fires.map((f) => ({ boundary: f.boundary, startMs: f.startMs, queued: round3(f.queued), accepted: round3(f.accepted), endMs: f.endMs })),
  };
  out.ratioQueuedP50 = out.fireQueued.p50 / out.bare.hi.p50;
  out.diffQueuedP50 = out.fireQueued.p50 - out.bare.hi.p50;
  out.diffQueuedP99 = out.fireQueued.p99 - out.bare.hi.p99;
  out.diffStartMsP50 = out.fireStartMs.p50 - out.bare.ms.p50;
  out.diffAcceptedP50 = out.fireAccepted.p50 - out.bare.hi.p50;
  out.diffEndToEndP50 = out.endToEndCompleted.p50 - out.bare.hi.p50;
  log(
    `alarm ${kind}: ${fires.length} fires; late by p50 ${out.fireQueued.p50.toFixed(3)} ms (p99 ${out.fireQueued.p99.toFixed(3)}) queued, ` +
      `${out.fireAccepted.p50.toFixed(3)} ms accepted, end ${out.endToEndMs.p50} ms; bare timer p50 ${out.bare.hi.p50.toFixed(3)} ms ` +
      `(p99 ${out.bare.hi.p99.toFixed(3)}, ${out.bare.n} samples)`,
  );
  return out;
}

function round3(v) {
  return Number.isFinite(v) ? Math.round(v * 1000) / 1000 : null;
}

// ---- 2. MQTT ----------------------------------------------------------------------------------------------------------
async function mqttPhase() {
  const broker = await startMosquitto();
  cleanups.push(() => broker.stop());
  log(`mosquitto ${broker.version} on ${broker.url} (pid ${broker.pid})`);

  const engine = createEngine({ ...ENGINE_OPTIONS, store: 'memory' });
  let open = true;
  const closeEngine = async () => {
    if (open) {
      open = false;
      await engine.close();
    }
  };
  cleanups.push(closeEngine);
  await engine.actions.create({ name: 'noop', action: CODE });

  // The feed path: trigger record (message id in its payload, the rule's action id in its logs) + action completion.
  const feedDone = new Deliveries();
  const actionsDone = new Counter();
  const msgOfAction = new Map();
  const doneEarly = new Map();
  const msgOfTrigger = new Map();
  const firedAt = new Map();
  const statuses = [];
  engine.on('activation:completed', (a) => {
    const t = now();
    if (a.name === 'noop') {
      if (!a.response.success) problem('mqtt', `action failed: ${JSON.stringify(a.response.result)}`);
      actionsDone.inc();
      const id = msgOfAction.get(a.activationId);
      if (id === undefined) doneEarly.set(a.activationId, t);
      else {
        msgOfAction.delete(a.activationId);
        feedDone.arrived(id, t);
      }
    } else if (a.name.startsWith('mq')) {
      const id = a.response.result?.payload?.id;
      msgOfTrigger.set(a.activationId, id);
      for (const actionId of actionIdsOf(a)) {
        const early = doneEarly.get(actionId);
        if (early === undefined) msgOfAction.set(actionId, id);
        else {
          doneEarly.delete(actionId);
          feedDone.arrived(id, early);
        }
      }
    }
  });
  engine.on('feed:fired', (e) => {
    if (e.activationId !== undefined) firedAt.set(e.activationId, now());
  });
  const statusWaiters = new Set();
  engine.on('feed:status', (s) => {
    statuses.push(`${s.trigger} ${s.state}: ${s.message}`);
    if (s.state === 'failing') problem('mqtt feed', `${s.trigger} ${s.state}: ${s.message}`);
    for (const w of statusWaiters) w(s);
  });
  const connected = (trigger, ms) =>
    new Promise((resolve) => {
      const check = () => engine.feeds.status(trigger)?.state === 'connected';
      if (check()) return resolve(true);
      const w = () => check() && finish(true);
      const timer = setTimeout(() => finish(false), ms);
      const finish = (ok) => {
        clearTimeout(timer);
        statusWaiters.delete(w);
        resolve(ok);
      };
      statusWaiters.add(w);
    });

  // Clients: one publisher for both paths; the bare subscriber on its own connection, as the feed is.
  const clientOptions = { protocolVersion: 4, clean: true, reconnectPeriod: 0, connectTimeout: 5000 };
  const publisher = await mqtt.connectAsync(broker.url, { ...clientOptions, clientId: `ew-bench-pub-${process.pid}` });
  cleanups.push(() => publisher.endAsync(true));
  const bare = await mqtt.connectAsync(broker.url, { ...clientOptions, clientId: `ew-bench-bare-${process.pid}` });
  cleanups.push(() => bare.endAsync(true));
  let closing = false;
  for (const [name, client] of [['publisher', publisher], ['bare subscriber', bare]]) {
    client.on('error', (error) => problem('mqtt client', `${name}: ${error.message}`));
    client.on('close', () => {
      if (!closing && cleaning === undefined) problem('mqtt client', `${name}: connection closed`);
    });
  }
  const bareDone = new Deliveries();
  const bareCount = new Counter();
  bare.on('message', (topic, payload) => {
    const t = now();
    bareCount.inc();
    if (topic.startsWith('bare/lat/')) bareDone.arrived(JSON.parse(payload.toString()).id, t);
  });

  const publish = (topic, id, qos) => {
    const t0 = now();
    const sent = publisher.publishAsync(topic, JSON.stringify({ id }), { qos }).catch((error) => problem('mqtt publish', `${topic}: ${error.message}`));
    return { t0, sent };
  };
  const feedOne = async (key, qos, record) => {
    const id = `f${qos}-${key}`;
    const waiting = feedDone.wait(id, cfg.lostAfterMs);
    const { t0, sent } = publish(`bench/lat/${key}`, id, qos);
    const t1 = await waiting;
    await sent;
    if (t1 === undefined) return problem(`mqtt qos ${qos}`, `message ${id} did not complete its action within ${cfg.lostAfterMs} ms`);
    if (record) record.push({ id, us: Number(t1 - t0) / 1e3, t0 });
  };
  const bareOne = async (key, qos, record) => {
    const id = `b${qos}-${key}`;
    const waiting = bareDone.wait(id, cfg.lostAfterMs);
    const { t0, sent } = publish(`bare/lat/${key}`, id, qos);
    const t1 = await waiting;
    await sent;
    if (t1 === undefined) return problem(`mqtt qos ${qos}`, `bare message ${id} not received within ${cfg.lostAfterMs} ms`);
    if (record) record.push(Number(t1 - t0) / 1e3);
  };

  async function burstFeed(rep) {
    const base = actionsDone.count;
    const t0 = now();
    for (let i = 0; i < cfg.burst; i++) publisher.publish(`bench/burst/${rep}/${i}`, JSON.stringify({ id: `burst-${rep}-${i}` }), { qos: 0 });
    const tLoop = now();
    const ok = await actionsDone.wait(base + cfg.burst, 30_000);
    const t1 = now();
    const got = actionsDone.count - base;
    if (!ok) problem('mqtt burst', `feed: ${got}/${cfg.burst} actions completed after 30 s`);
    const seconds = Number(t1 - t0) / 1e9;
    return { seconds, publishLoopMs: Number(tLoop - t0) / 1e6, completed: got, perSecond: ok ? cfg.burst / seconds : NaN };
  }
  async function burstBare(rep) {
    const base = bareCount.count;
    const t0 = now();
    for (let i = 0; i < cfg.burst; i++) publisher.publish(`bare/burst/${rep}/${i}`, JSON.stringify({ id: `burst-${rep}-${i}` }), { qos: 0 });
    const tLoop = now();
    const ok = await bareCount.wait(base + cfg.burst, 30_000);
    const t1 = now();
    const got = bareCount.count - base;
    if (!ok) problem('mqtt burst', `bare: ${got}/${cfg.burst} messages received after 30 s`);
    const seconds = Number(t1 - t0) / 1e9;
    return { seconds, publishLoopMs: Number(tLoop - t0) / 1e6, received: got, perSecond: ok ? cfg.burst / seconds : NaN };
  }

  const out = { broker: { version: broker.version, url: broker.url }, qos: {} };
  for (const qos of round % 2 === 0 ? [0, 1] : [1, 0]) {
    const trigger = `mq${qos}`;
    await engine.triggers.create({ name: trigger });
    await engine.rules.create({ name: `${trigger}-noop`, trigger, action: 'noop' });
    const created = await engine.feeds.create({ name: MQTT_FEED, trigger, params: { url: broker.url, topic: 'bench/#', qos } });
    if (!created.response.success) throw new Error(`mqtt qos ${qos}: CREATE failed: ${JSON.stringify(created.response.result)}`);
    if (!(await connected(trigger, 10_000))) throw new Error(`mqtt qos ${qos}: the feed did not connect within 10 s: ${statuses.slice(-5).join('; ')}`);
    await bare.subscribeAsync('bare/#', { qos });

    for (let i = 0; i < cfg.warmupMessages; i++) {
      await feedOne(`w${i}`, qos);
      await bareOne(`w${i}`, qos);
    }
    settleGc();
    const feed = [];
    const bareLat = [];
    for (let i = 0; i < cfg.messages; i++) {
      if ((i + round) % 2 === 0) {
        await feedOne(i, qos, feed);
        await bareOne(i, qos, bareLat);
      } else {
        await bareOne(i, qos, bareLat);
        await feedOne(i, qos, feed);
      }
    }
    // publish → feed:fired (the trigger fire accepted), joined through the trigger activation's payload.
    const firedById = new Map();
    for (const [triggerId, t] of firedAt) firedById.set(msgOfTrigger.get(triggerId), t);
    const fire = feed.map((f) => (firedById.has(f.id) ? Number(firedById.get(f.id) - f.t0) / 1e3 : NaN)).filter(Number.isFinite);
    const half = Math.floor(feed.length / 2);
    const r = {
      messages: cfg.messages,
      feed: summarize(feed.map((f) => f.us)),
      fire: fire.length === 0 ? { n: 0 } : summarize(fire),
      bare: summarize(bareLat),
      lostFeed: cfg.messages - feed.length,
      lostBare: cfg.messages - bareLat.length,
      trend: { firstHalfFeedP50: median(feed.slice(0, half).map((f) => f.us)), secondHalfFeedP50: median(feed.slice(half).map((f) => f.us)) },
    };
    r.ratioP50 = r.feed.p50 / r.bare.p50;
    r.ratioP99 = r.feed.p99 / r.bare.p99;
    r.diffP50 = r.feed.p50 - r.bare.p50;
    log(
      `mqtt qos ${qos}: publish → action completed p50 ${r.feed.p50.toFixed(0)} µs (p99 ${r.feed.p99.toFixed(0)}), → feed:fired p50 ${r.fire.p50?.toFixed(0)} µs; ` +
        `bare subscriber p50 ${r.bare.p50.toFixed(0)} µs (p99 ${r.bare.p99.toFixed(0)}); ratio p50 ${r.ratioP50.toFixed(2)}×`,
    );

    if (qos === 0) {
      // warm-up burst for both, then alternating order per repetition
      await burstFeed('w');
      await burstBare('w');
      const reps = [];
      for (let rep = 0; rep < cfg.burstReps; rep++) {
        settleGc();
        const x = {};
        for (const which of (rep + round) % 2 === 0 ? ['feed', 'bare'] : ['bare', 'feed']) x[which] = which === 'feed' ? await burstFeed(rep) : await burstBare(rep);
        x.ratio = x.feed.perSecond / x.bare.perSecond;
        reps.push(x);
        log(`burst ${rep + 1}/${cfg.burstReps}: feed ${Math.round(x.feed.perSecond)} msg/s (${x.feed.seconds.toFixed(3)} s), bare ${Math.round(x.bare.perSecond)} msg/s (${x.bare.seconds.toFixed(3)} s)`);
      }
      r.burst = {
        n: cfg.burst,
        feedPerSecond: median(reps.map((x) => x.feed.perSecond)),
        barePerSecond: median(reps.map((x) => x.bare.perSecond)),
        ratio: median(reps.map((x) => x.ratio)),
        feedPublishLoopMs: median(reps.map((x) => x.feed.publishLoopMs)),
        barePublishLoopMs: median(reps.map((x) => x.bare.publishLoopMs)),
        reps,
      };
    }
    await bare.unsubscribeAsync('bare/#');
    await engine.feeds.delete({ name: MQTT_FEED, trigger });
    await engine.rules.delete({ name: `${trigger}-noop` });
    await engine.triggers.delete({ name: trigger });
    out.qos[qos] = r;
  }
  out.duplicatesFeed = feedDone.duplicates;
  out.duplicatesBare = bareDone.duplicates;
  if (feedDone.duplicates > 0) problem('mqtt', `${feedDone.duplicates} feed messages completed twice`);
  if (bareDone.duplicates > 0) problem('mqtt', `${bareDone.duplicates} bare messages received twice`);
  if (broker.exited()) problem('mqtt', 'the broker exited during the run');
  closing = true;
  out.statuses = statuses.slice(0, 20);
  return out;
}

// ---- run ----------------------------------------------------------------------------------------------------------------
const result = { scenario: 'feeds', quick, round, config: { ...cfg, engineOptions: ENGINE_OPTIONS, node: process.version } };
let failed;
try {
  const bare = bareTimerChain();
  cleanups.push(() => bare.stop());
  result.alarm = {};
  for (const kind of round % 2 === 0 ? ['memory', 'durable'] : ['durable', 'memory']) {
    result.alarm[kind] = await alarmPhase(kind, bare);
    settleGc();
  }
  bare.stop();
  result.alarm.bareEarlyWakes = bare.earlyWakes();
  const m = result.alarm.memory;
  const d = result.alarm.durable;
  result.alarm.durableMinusMemoryQueuedP50 = d.fireQueued.p50 - m.fireQueued.p50;
  result.alarm.durableMinusMemoryAcceptedP50 = d.fireAccepted.p50 - m.fireAccepted.p50;
  result.alarm.durableMinusMemoryEndToEndP50 = d.endToEndCompleted.p50 - m.endToEndCompleted.p50;
  result.alarm.clockMapping = { offsets: allOffsets.map((o) => Math.round((o - allOffsets[0]) * 1000) / 1000), calibrations: allOffsets.length, spreadMs: Math.max(...allOffsets) - Math.min(...allOffsets), lastMinusFirstMs: allOffsets.at(-1) - allOffsets[0] };
  result.mqtt = await mqttPhase();
} catch (error) {
  failed = error;
  log(`failed: ${error?.stack ?? error}`);
}
await cleanup();
if (failed !== undefined) process.exit(1);
result.errors = errors;
result.problems = problems;
emit(result);
process.exit(0);
