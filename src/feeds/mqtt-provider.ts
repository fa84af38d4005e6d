/**
 * `/whisk.system/mqtt/subscribe`: fires its trigger with each message published on the topic filters it subscribes
 * to on an MQTT broker (`{ topic, payload, qos, retain }`, see mqtt-message.ts).
 *
 * Connections: one at a time per feed, never MQTT.js's own reconnection (fixed period); after a failure the feed
 * waits `minBackoff` (1 s), doubling up to `maxBackoff` (60 s), and a connection that subscribed resets the wait. A
 * broker that refuses the credentials is retried after `maxBackoff` at once: asking again soon only repeats it.
 *
 * Sessions (see `cleanSessionOf`): a feed with a persistent session that starts `resumed` (the engine restarted)
 * continues its broker session, and the messages the broker kept while EdgeWhisk was down fire. A feed that starts
 * fresh (CREATE, UNPAUSE, UPDATE when the service passes `resumed: false`) first clears whatever session its client
 * id left on the broker (a deleted trigger of the same name, a paused feed's queue), then opens a persistent one.
 *
 * Acknowledgement and flow control: MQTT.js hands over incoming messages one at a time and reads no further until
 * the previous one is done. A QoS 1 or 2 message is done (PUBACK / PUBCOMP sent) only once its fire resolved, i.e.
 * the trigger's rules' invocations were accepted: a message the engine had not accepted when it stopped or crashed
 * is delivered again (at least once), and a slow engine slows the broker down instead of piling up fires. A QoS 0
 * message, which no broker resends, is done at once while fewer than `maxInFlight` (1000) fires are pending, and
 * otherwise when one of them resolves; meanwhile the socket is not read and the broker's own limits apply.
 */
import { randomBytes } from 'node:crypto';
import type { IPublishPacket, ISubscriptionGrant, MqttClient } from 'mqtt';
import type { Timer } from './clock';
import { FeedParameterError, type FeedHost, type FeedProvider, type FeedRun } from './feed-provider';
import { closeConnection, describeFailure, formatDuration, openConnection, probeBroker, type ConnectionFailure } from './mqtt-connection';
import { cleanSessionOf, describeMqttConfig, MQTT_PARAMETERS, parseMqttConfig, type MqttConfig } from './mqtt-config';
import { firePayload } from './mqtt-message';
import { topicMatches } from './topic-filter';

export type { MqttConfig } from './mqtt-config';

/**
 * The largest message that fires, in bytes: the engine's invocation payload limit (`payloadLimit`, 1 MiB by
 * default). A larger one is dropped, acknowledged, and counted in the `connected` status.
 */
export const MAX_MESSAGE_BYTES = 1_048_576;

/** First wait after a failed connection, in ms. */
export const MIN_BACKOFF_MS = 1000;
/** Longest wait between connection attempts, in ms; also the wait after a refusal of the credentials. */
export const MAX_BACKOFF_MS = 60_000;
/** How long CREATE and UPDATE wait for the broker's answer when checking the credentials, in ms. */
export const CHECK_TIMEOUT_MS = 5000;
/** How long a running feed's connection attempt waits for the broker's CONNACK, in ms. */
export const CONNECT_TIMEOUT_MS = 10_000;
/** QoS 0 fires pending at once before the feed stops reading the connection. */
export const MAX_IN_FLIGHT = 1000;
/** Dropped messages update the status at most this often, in ms. */
const DROP_REPORT_INTERVAL_MS = 1000;

export interface MqttProviderOptions {
  /** @default 1000 */
  readonly minBackoff?: number;
  /** @default 60000 */
  readonly maxBackoff?: number;
  /** @default 5000 */
  readonly checkTimeout?: number;
  /** @default 10000 */
  readonly connectTimeout?: number;
  /** @default 1000 */
  readonly maxInFlight?: number;
}

export interface MqttFeedProvider extends FeedProvider<MqttConfig> {
  /**
   * Ends the feed's persistent session on the broker (its subscriptions and the messages queued for it), for DELETE
   * after the feed was stopped: otherwise the broker keeps queueing for a client that never comes back. Never rejects;
   * an unreachable broker is left as it is.
   */
  remove(config: MqttConfig): Promise<void>;
}

export function createMqttProvider(options: MqttProviderOptions = {}): MqttFeedProvider {
  const settings: Required<MqttProviderOptions> = {
    minBackoff: options.minBackoff ?? MIN_BACKOFF_MS,
    maxBackoff: options.maxBackoff ?? MAX_BACKOFF_MS,
    checkTimeout: options.checkTimeout ?? CHECK_TIMEOUT_MS,
    connectTimeout: options.connectTimeout ?? CONNECT_TIMEOUT_MS,
    maxInFlight: options.maxInFlight ?? MAX_IN_FLIGHT,
  };
  return {
    name: 'subscribe',
    description: 'Fires the trigger with each message published on an MQTT topic filter.',
    parameters: MQTT_PARAMETERS,
    async configure(params, current, host) {
      const config = parseMqttConfig(params, current, host.trigger);
      // Its own client id and a clean session: the check must not take over, or clear, the running feed's session.
      const probe = await probeBroker(config, { clientId: `edgewhisk-check-${randomBytes(3).toString('hex')}`, clean: true, connectTimeout: settings.checkTimeout });
      // Only a refusal of the credentials is the caller's to fix now. A broker that does not answer may be rebooting:
      // the feed is created, and reports `failing` until the broker is back.
      if (!probe.connected && probe.failure.credentials !== undefined) {
        throw new FeedParameterError(`the MQTT broker at ${config.url} refused the credentials: ${probe.failure.credentials}`);
      }
      return config;
    },
    start: (config, host, resumed) => new MqttRun(config, host, resumed, settings),
    describe: describeMqttConfig,
    async remove(config) {
      await probeBroker(config, { clientId: config.clientId, clean: true, connectTimeout: settings.checkTimeout });
    },
  };
}

export const mqttProvider: MqttFeedProvider = createMqttProvider();

/** One connection attempt and what became of it. */
interface Link {
  readonly client: MqttClient;
  /** Opened with a clean session only to clear the one left on the broker (see the module comment). */
  readonly wiping: boolean;
  /** The broker accepted the connection (CONNACK 0). */
  up: boolean;
  subscribed: boolean;
  /** The first error MQTT.js reported on it: why it closes. */
  failure?: ConnectionFailure;
  /** A QoS 0 message's done, held back while `maxInFlight` fires are pending. */
  held?: (() => void) | undefined;
}

class MqttRun implements FeedRun {
  readonly #config: MqttConfig;
  readonly #host: FeedHost;
  readonly #settings: Required<MqttProviderOptions>;
  readonly #clean: boolean;
  readonly #where: string;
  #wipe: boolean;
  #link: Link | undefined;
  #retry: Timer | undefined;
  #delay: number;
  /** The broker's session holds this run's subscriptions: a reconnection that finds it needs no SUBSCRIBE. */
  #sessionSubscribed = false;
  #grantNote = '';
  #inFlight = 0;
  #dropped = 0;
  #dropReport: Timer | undefined;
  #lastDropReport = Number.NEGATIVE_INFINITY;
  #stopped = false;
  #stopping: Promise<void> | undefined;

  constructor(config: MqttConfig, host: FeedHost, resumed: boolean, settings: Required<MqttProviderOptions>) {
    this.#config = config;
    this.#host = host;
    this.#settings = settings;
    this.#clean = cleanSessionOf(config);
    this.#wipe = !this.#clean && !resumed;
    this.#where = new URL(config.url).host;
    this.#delay = settings.minBackoff;
    host.status({ state: 'connecting', message: `connecting to ${config.url}` });
    this.#attempt();
  }

  stop(): Promise<void> {
    this.#stopping ??= this.#shutdown();
    return this.#stopping;
  }

  async #shutdown(): Promise<void> {
    this.#stopped = true;
    this.#retry?.cancel();
    this.#dropReport?.cancel();
    const link = this.#link;
    this.#link = undefined;
    if (link !== undefined) await closeConnection(link.client);
  }

  #attempt(): void {
    this.#retry = undefined;
    if (this.#stopped) return;
    const wiping = this.#wipe;
    let client: MqttClient;
    try {
      client = openConnection(this.#config, { clientId: this.#config.clientId, clean: wiping || this.#clean, connectTimeout: this.#settings.connectTimeout });
    } catch (error) {
      // MQTT.js refuses some options by throwing; from a retry timer that would be an uncaught exception.
      this.#retryLater({ message: error instanceof Error ? error.message : String(error) });
      return;
    }
    const link: Link = { client, wiping, up: false, subscribed: false };
    this.#link = link;
    // Replaces MQTT.js's no-op: its callback is when the message is acknowledged and the next one is read.
    client.handleMessage = (packet, done) => this.#receive(link, packet, done);
    // MQTT.js reports every failure as an 'error' event, and throws it when nobody listens: this listener stays.
    client.on('error', (error) => {
      link.failure ??= describeFailure(error, this.#config, this.#settings.connectTimeout);
    });
    client.on('connect', (connack) => this.#connected(link, connack.sessionPresent));
    client.on('close', () => this.#closed(link));
  }

  #connected(link: Link, sessionPresent: boolean): void {
    if (link !== this.#link || this.#stopped) return;
    if (link.wiping) {
      // The clean session replaced the stale one; closing it ends it too. `#closed` opens the persistent session.
      this.#wipe = false;
      void closeConnection(link.client);
      return;
    }
    link.up = true;
    if (!sessionPresent) this.#sessionSubscribed = false;
    if (this.#sessionSubscribed) {
      this.#subscribed(link);
      return;
    }
    const topics = [...this.#config.topic];
    link.client.subscribe(topics, { qos: this.#config.qos }, (error, granted, suback) => {
      if (link !== this.#link || this.#stopped) return;
      if (error !== null) {
        const codes: readonly unknown[] = suback !== undefined && 'granted' in suback ? suback.granted : [];
        // SUBACK return code 0x80 (3.1.1) or a reason code from 0x80 (5): refused.
        const refused = topics.filter((_, i) => {
          const code = codes[i];
          return typeof code !== 'number' || (code & 0x80) !== 0;
        });
        link.failure ??= { message: `the broker refused the subscription to ${(refused.length > 0 ? refused : topics).join(', ')}: ${error.message}` };
        void closeConnection(link.client);
        return;
      }
      this.#grantNote = grantNote(granted ?? [], this.#config.qos);
      this.#sessionSubscribed = !this.#clean;
      this.#subscribed(link);
    });
  }

  #subscribed(link: Link): void {
    link.subscribed = true;
    this.#delay = this.#settings.minBackoff;
    this.#reportConnected();
  }

  #closed(link: Link): void {
    if (link !== this.#link) return;
    this.#link = undefined;
    if (this.#stopped) return;
    if (link.wiping && !this.#wipe) {
      this.#attempt();
      return;
    }
    const failure = link.failure ?? { message: link.up ? 'the broker closed the connection' : `${this.#where} closed the connection` };
    this.#retryLater(link.up ? { ...failure, message: `connection to ${this.#where} lost: ${failure.message}` } : failure);
  }

  #retryLater(failure: ConnectionFailure): void {
    const delay = failure.credentials !== undefined ? this.#settings.maxBackoff : this.#delay;
    this.#delay = Math.min(delay * 2, this.#settings.maxBackoff);
    this.#host.status({ state: 'failing', message: `${failure.message}, retrying in ${formatDuration(delay)}` });
    this.#retry = this.#host.clock.after(delay, () => this.#attempt());
  }

  #receive(link: Link, packet: IPublishPacket, done: (error?: Error) => void): void {
    // Not acknowledged: a QoS 1 or 2 message comes again with the session's next connection.
    if (this.#stopped || link !== this.#link) return;
    const topic = String(packet.topic);
    // A persistent session may still hold a subscription of an earlier config of this feed.
    if (!this.#config.topic.some((filter) => topicMatches(filter, topic))) {
      done();
      return;
    }
    const message = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
    if (message.length > MAX_MESSAGE_BYTES) {
      this.#dropped++;
      this.#reportDrop();
      done();
      return;
    }
    this.#inFlight++;
    void this.#fire(firePayload(topic, message, packet.qos, packet.retain)).then(() => {
      this.#inFlight--;
      if (this.#stopped || link !== this.#link) return;
      if (packet.qos > 0) done();
      const held = link.held;
      if (held !== undefined && this.#inFlight < this.#settings.maxInFlight) {
        link.held = undefined;
        held();
      }
    });
    if (packet.qos === 0) {
      if (this.#inFlight < this.#settings.maxInFlight) done();
      else link.held = done;
    }
  }

  /** Fires; resolves when the fire did, never rejects. A trigger that is gone ends the feed. */
  async #fire(payload: Record<string, unknown>): Promise<void> {
    try {
      const outcome = await this.#host.fire(payload);
      // A refused fire (a full queue) is not retried: the message is acknowledged like the others.
      if (!outcome.fired && outcome.gone === true) void this.stop();
    } catch {
      // fire() never rejects by contract; a host that does anyway must not stop the feed or escape as unhandled.
    }
  }

  #reportConnected(): void {
    if (this.#stopped || this.#link?.subscribed !== true) return;
    const dropped = this.#dropped === 0 ? '' : `; ${this.#dropped} message${this.#dropped === 1 ? '' : 's'} over ${MAX_MESSAGE_BYTES} bytes dropped`;
    this.#host.status({ state: 'connected', message: `subscribed to ${this.#config.topic.join(', ')}${this.#grantNote}${dropped}` });
  }

  /** A stream of oversized messages updates the status once a second, not once per message. */
  #reportDrop(): void {
    if (this.#dropReport !== undefined) return;
    const wait = this.#lastDropReport + DROP_REPORT_INTERVAL_MS - this.#host.clock.now();
    const report = (): void => {
      this.#dropReport = undefined;
      this.#lastDropReport = this.#host.clock.now();
      this.#reportConnected();
    };
    if (wait <= 0) report();
    else this.#dropReport = this.#host.clock.after(wait, report);
  }
}

/** ` (the broker granted qos 0)` when it granted less than asked for: the feed then gets messages at that QoS. */
function grantNote(granted: readonly ISubscriptionGrant[], qos: number): string {
  const lowest = Math.min(...granted.map((g) => g.qos));
  return granted.length > 0 && lowest < qos ? ` (the broker granted qos ${lowest})` : '';
}
