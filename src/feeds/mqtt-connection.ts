/**
 * One MQTT connection as the MQTT feed uses it (MQTT.js): how it is opened, why it failed in words for a status or
 * an error message, how it is closed for good, and a one-shot connect that checks a broker.
 *
 * Every connection is opened with MQTT.js's own reconnection off (`reconnectPeriod: 0`): its retry period is fixed,
 * and the feed backs off exponentially instead (mqtt-provider.ts), opening a new connection for each attempt.
 */
import { connect, ReasonCodes, type IClientOptions, type MqttClient } from 'mqtt';
import type { MqttConfig } from './mqtt-config';

/** MQTT 3.1.1 CONNACK return codes 4 and 5, MQTT 5 reason codes 134 and 135: the broker refused who we are. */
const CREDENTIAL_CODES: ReadonlySet<number> = new Set([4, 5, 134, 135]);

/** How long a graceful close (DISCONNECT, then the socket's end) may take before the socket is destroyed. */
const CLOSE_GRACE_MS = 2000;

/** Keepalive in seconds: a link that died without a FIN (a broker's power cut) is noticed within 1.5 times this. */
const KEEPALIVE_S = 30;

export interface ConnectionOptions {
  readonly clientId: string;
  readonly clean: boolean;
  /** From the start of the attempt to the broker's CONNACK, in ms. */
  readonly connectTimeout: number;
}

/** Why a connection failed, in words fit for a status; never the password. */
export interface ConnectionFailure {
  readonly message: string;
  /** The broker refused the credentials, for this reason (`Not authorized`): retrying soon only repeats the refusal. */
  readonly credentials?: string;
}

export function openConnection(config: MqttConfig, options: ConnectionOptions): MqttClient {
  const clientOptions: IClientOptions = {
    // MQTT 3.1.1, which every broker speaks. A persistent 3.1.1 session lives until the broker expires it; MQTT 5
    // would end it at disconnect unless a session expiry interval is also sent.
    protocolVersion: 4,
    clientId: options.clientId,
    clean: options.clean,
    connectTimeout: options.connectTimeout,
    keepalive: KEEPALIVE_S,
    reconnectPeriod: 0,
    // The feed subscribes on each connection itself, knowing whether the broker kept the session.
    resubscribe: false,
    queueQoSZero: false,
    ...(config.username === undefined ? {} : { username: config.username }),
    ...(config.password === undefined ? {} : { password: config.password }),
  };
  return connect(config.url, clientOptions);
}

export function describeFailure(error: Error, config: MqttConfig, connectTimeout: number): ConnectionFailure {
  const where = new URL(config.url).host;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'number') {
    const reason = (ReasonCodes as Readonly<Record<number, string>>)[code] ?? `reason code ${code}`;
    if (CREDENTIAL_CODES.has(code)) return { message: `the broker refused the credentials: ${reason}`, credentials: reason };
    return { message: `the broker refused the connection: ${reason}` };
  }
  const message = (() => {
    switch (code) {
      case 'ECONNREFUSED':
        return `connection refused by ${where}`;
      case 'ECONNRESET':
        return `connection reset by ${where}`;
      case 'ENOTFOUND':
      case 'EAI_AGAIN':
        return `cannot resolve ${new URL(config.url).hostname}`;
      case 'ETIMEDOUT':
      case 'EHOSTUNREACH':
      case 'ENETUNREACH':
        return `${where} is unreachable (${code})`;
      default:
        if (error.message === 'connack timeout') return `no answer from ${where} within ${formatDuration(connectTimeout)}`;
        if (error.message === 'Keepalive timeout') return `${where} stopped answering (keepalive timeout)`;
        return error.message;
    }
  })();
  return { message };
}

/**
 * Closes `client` for good: DISCONNECT when connected (the broker then keeps a persistent session without
 * publishing a will), and resolves once its socket is closed. Never rejects; a socket that does not close within
 * CLOSE_GRACE_MS is destroyed.
 */
export function closeConnection(client: MqttClient): Promise<void> {
  return new Promise((resolve) => {
    const stream = client.stream as (typeof client.stream & { closed?: boolean }) | undefined;
    let pending = 2;
    const settle = (): void => {
      if (--pending === 0) {
        clearTimeout(grace);
        resolve();
      }
    };
    const grace = setTimeout(() => {
      stream?.destroy();
      pending = 1;
      settle();
    }, CLOSE_GRACE_MS);
    grace.unref();
    // MQTT.js may call back before the socket is closed (when it was not connected): the socket's close is awaited too.
    if (stream === undefined || stream.closed === true || stream.destroyed) settle();
    else stream.once('close', settle);
    try {
      client.end(!client.connected, () => settle());
    } catch {
      stream?.destroy();
      settle();
    }
  });
}

export type ProbeResult = { readonly connected: true } | { readonly connected: false; readonly failure: ConnectionFailure };

/** Connects once and disconnects: does the broker accept these credentials? Resolves once the socket is closed. */
export function probeBroker(config: MqttConfig, options: ConnectionOptions): Promise<ProbeResult> {
  return new Promise((resolve) => {
    let client: MqttClient;
    try {
      client = openConnection(config, options);
    } catch (error) {
      resolve({ connected: false, failure: { message: error instanceof Error ? error.message : String(error) } });
      return;
    }
    let result: ProbeResult | undefined;
    const finish = (outcome: ProbeResult): void => {
      if (result !== undefined) return;
      result = outcome;
      clearTimeout(deadline);
      void closeConnection(client).then(() => resolve(outcome));
    };
    // MQTT.js's connect timeout ends the attempt; this one is for a transport that never reports back.
    const deadline = setTimeout(() => finish({ connected: false, failure: { message: `no answer from ${new URL(config.url).host}` } }), options.connectTimeout + 1000);
    client.on('error', (error) => finish({ connected: false, failure: describeFailure(error, config, options.connectTimeout) }));
    client.on('connect', () => finish({ connected: true }));
    client.on('close', () => finish({ connected: false, failure: { message: `${new URL(config.url).host} closed the connection` } }));
  });
}

/** `500 ms`, `4 s`, `1.5 s`. */
export function formatDuration(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${Math.round(ms / 100) / 10} s`;
}
