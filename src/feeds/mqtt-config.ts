/**
 * The MQTT feed's parameters (`/whisk.system/mqtt/subscribe`): their validation into the config stored with the
 * trigger, and what READ shows of it. No I/O here; the broker check is the provider's (mqtt-provider.ts).
 */
import { createHash, randomBytes } from 'node:crypto';
import { FeedParameterError, type FeedParameter } from './feed-provider';
import { topicFilterProblem } from './topic-filter';

export type MqttQos = 0 | 1 | 2;

/** What the feed keeps with its trigger. JSON as it is: the service stores it and hands it back after a restart. */
export interface MqttConfig {
  /** Normalised: scheme, host and port always (`mqtt://192.168.1.10:1883`), and the path for `ws`/`wss`. */
  readonly url: string;
  /** The topic filters, at least one, no duplicates, in the order given. */
  readonly topic: readonly string[];
  readonly qos: MqttQos;
  /** As given, or made at CREATE (`defaultClientId`) and kept, so a restart finds its session on the broker again. */
  readonly clientId: string;
  /** As given; absent means the default of `cleanSessionOf` (persistent for qos 1 and 2). */
  readonly cleanSession?: boolean;
  readonly username?: string;
  /** Never shown by READ, never put in a status or an error message. */
  readonly password?: string;
}

export const MQTT_PARAMETERS: readonly FeedParameter[] = [
  { name: 'url', required: true, description: 'The broker: mqtt://host[:1883], mqtts://host[:8883], ws://host:port/path or wss://host:port/path.' },
  { name: 'topic', required: true, description: 'A topic filter (home/+/state, home/#) or an array of them.' },
  { name: 'qos', required: false, description: 'The subscription QoS: 0 (default), 1 or 2.' },
  { name: 'username', required: false, description: 'The user name the broker knows the feed by.' },
  { name: 'password', required: false, description: 'The password of username; never shown again.' },
  { name: 'clientId', required: false, description: 'The MQTT client id; by default one made when the feed is created (edgewhisk- and 12 hex digits), kept across restarts.' },
  {
    name: 'cleanSession',
    required: false,
    description: 'false: a persistent session, the broker keeps QoS 1 and 2 messages for the feed while EdgeWhisk is down. Default: false for qos 1 and 2, true for qos 0.',
  },
];

const DEFAULT_PORTS: Readonly<Record<string, number>> = { 'mqtt:': 1883, 'mqtts:': 8883, 'ws:': 80, 'wss:': 443 };

/** How much of a refused value an error message quotes. */
const QUOTE_LIMIT = 200;

/**
 * The config `params` make, over `current` on UPDATE (only the parameters given change; an empty username or
 * password removes it). Throws `FeedParameterError` naming the parameter.
 */
export function parseMqttConfig(params: Readonly<Record<string, unknown>>, current: MqttConfig | undefined, trigger: string): MqttConfig {
  const given = (name: string): unknown => (Object.hasOwn(params, name) ? params[name] : undefined);
  const url = given('url') === undefined ? current?.url : parseUrl(given('url'));
  if (url === undefined) throw new FeedParameterError('url parameter is required: the MQTT broker, e.g. mqtt://192.168.1.10:1883');
  const topic = given('topic') === undefined ? current?.topic : parseTopics(given('topic'));
  if (topic === undefined) throw new FeedParameterError('topic parameter is required: a topic filter such as home/+/state, or an array of them');
  const qos = given('qos') === undefined ? (current?.qos ?? 0) : parseQos(given('qos'));
  const clientId = given('clientId') === undefined ? (current?.clientId ?? defaultClientId(trigger)) : parseClientId(given('clientId'));
  const cleanSession = given('cleanSession') === undefined ? current?.cleanSession : parseBoolean('cleanSession', given('cleanSession'));
  const username = given('username') === undefined ? current?.username : optionalString('username', given('username'));
  // The password is never quoted: a wrong type is named, its value is not.
  const password = given('password') === undefined ? current?.password : optionalString('password', given('password'), true);
  if (password !== undefined && username === undefined) throw new FeedParameterError('password parameter needs a username parameter (MQTT sends no password without a user name)');
  return {
    url,
    topic,
    qos,
    clientId,
    ...(cleanSession === undefined ? {} : { cleanSession }),
    ...(username === undefined ? {} : { username }),
    ...(password === undefined ? {} : { password }),
  };
}

/**
 * A session is persistent (clean session false) by default when the feed subscribes with QoS 1 or 2: the broker then
 * keeps the subscription and queues the QoS 1 and 2 messages published while EdgeWhisk is down (a restart, a
 * reboot), up to its own limits (mosquitto: `max_queued_messages`, 1000 by default), and delivers them when the feed
 * reconnects with the same client id. QoS 0 messages are not kept for an absent client, so a QoS 0 feed gains
 * nothing from a session the broker would have to hold.
 */
export function cleanSessionOf(config: MqttConfig): boolean {
  return config.cleanSession ?? config.qos === 0;
}

/** The config as READ shows it: no password. */
export function describeMqttConfig(config: MqttConfig): Record<string, unknown> {
  return {
    url: config.url,
    topic: config.topic.length === 1 ? config.topic[0] : [...config.topic],
    qos: config.qos,
    clientId: config.clientId,
    cleanSession: cleanSessionOf(config),
    ...(config.username === undefined ? {} : { username: config.username }),
  };
}

/**
 * Made once at CREATE and kept in the feed's config, so a restarted engine resumes its broker session with it. Part
 * of it comes from the trigger name (to recognise it in a broker's log), part is random: two EdgeWhisk instances
 * (Node-RED and `edgewhisk serve` on one device, both in namespace `guest`) with a trigger of the same name must not
 * share an id, or the broker keeps closing one connection for the other. 22 characters: MQTT 3.1.1 servers must
 * accept ids up to 23.
 */
export function defaultClientId(trigger: string): string {
  return `edgewhisk-${createHash('sha256').update(trigger).digest('hex').slice(0, 6)}${randomBytes(3).toString('hex')}`;
}

function parseUrl(value: unknown): string {
  if (typeof value !== 'string') throw new FeedParameterError(`url parameter must be a string such as mqtt://host:1883, got ${typeName(value)}`);
  const url = URL.canParse(value.trim()) ? new URL(value.trim()) : null;
  // Credentials in the URL would be shown by READ and in every status: they go in their own parameters.
  if (url !== null && (url.username !== '' || url.password !== '')) {
    throw new FeedParameterError('url parameter must not hold credentials: pass them as the username and password parameters');
  }
  const port = url === null ? undefined : DEFAULT_PORTS[url.protocol];
  if (url === null || port === undefined || url.hostname === '') {
    throw new FeedParameterError(`url parameter ${quoteUrl(value)} is not an MQTT URL: use mqtt://host:port or mqtts://host:port (ws://host:port/path or wss://host:port/path for MQTT over WebSocket)`);
  }
  const websocket = url.protocol === 'ws:' || url.protocol === 'wss:';
  if ((!websocket && url.pathname !== '' && url.pathname !== '/') || url.search !== '' || url.hash !== '') {
    throw new FeedParameterError(`url parameter ${quoteUrl(value)} has a path or query, which an MQTT URL does not take: use ${url.protocol}//host:port`);
  }
  if (url.port === '0') throw new FeedParameterError(`url parameter ${quoteUrl(value)} has port 0`);
  return `${url.protocol}//${url.hostname}:${url.port === '' ? port : url.port}${websocket ? url.pathname : ''}`;
}

function parseTopics(value: unknown): string[] {
  let list = value;
  // A command line hands an array over as its JSON text.
  if (typeof value === 'string' && value.trimStart().startsWith('[')) {
    try {
      const parsed: unknown = JSON.parse(value);
      if (Array.isArray(parsed) && parsed.every((f) => typeof f === 'string')) list = parsed;
    } catch {
      // Not JSON: `[` can begin a topic filter.
    }
  }
  const filters = typeof list === 'string' ? [list] : list;
  if (!Array.isArray(filters) || !filters.every((f): f is string => typeof f === 'string')) {
    throw new FeedParameterError(`topic parameter must be a topic filter or an array of them, got ${typeName(value)}`);
  }
  if (filters.length === 0) throw new FeedParameterError('topic parameter must name at least one topic filter');
  for (const filter of filters) {
    const problem = topicFilterProblem(filter);
    if (problem !== undefined) throw new FeedParameterError(`topic parameter ${quote(filter)} is not a valid topic filter: ${problem}`);
  }
  return [...new Set(filters)];
}

function parseQos(value: unknown): MqttQos {
  // The command line passes every parameter as a string.
  const qos = typeof value === 'string' && /^\s*[012]\s*$/.test(value) ? Number(value) : value;
  if (qos === 0 || qos === 1 || qos === 2) return qos;
  throw new FeedParameterError(`qos parameter must be 0, 1 or 2, got ${typeof value === 'string' ? quote(value) : typeName(value)}`);
}

function parseClientId(value: unknown): string {
  if (typeof value !== 'string' || value === '') throw new FeedParameterError(`clientId parameter must be a non-empty string, got ${typeof value === 'string' ? 'an empty string' : typeName(value)}`);
  if (value.includes('\u0000') || Buffer.byteLength(value) > 65_535) throw new FeedParameterError('clientId parameter must be at most 65535 bytes, without the null character');
  return value;
}

function parseBoolean(name: string, value: unknown): boolean {
  if (value === true || value === 'true') return true;
  if (value === false || value === 'false') return false;
  throw new FeedParameterError(`${name} parameter must be true or false, got ${typeof value === 'string' ? quote(value) : typeName(value)}`);
}

function optionalString(name: string, value: unknown, secret = false): string | undefined {
  if (typeof value !== 'string') throw new FeedParameterError(`${name} parameter must be a string, got ${typeName(value)}`);
  if (value.includes('\u0000') || Buffer.byteLength(value) > 65_535) {
    throw new FeedParameterError(`${name} parameter must be at most 65535 bytes, without the null character${secret ? '' : `, got ${quote(value)}`}`);
  }
  return value === '' ? undefined : value;
}

/** A URL quoted without what could be credentials (`user:password@`), even when it does not parse. */
function quoteUrl(value: string): string {
  return quote(value.replace(/\/\/[^/]*@/, '//…@'));
}

function quote(value: string): string {
  return `'${value.length > QUOTE_LIMIT ? `${value.slice(0, QUOTE_LIMIT)}…` : value}'`;
}

function typeName(value: unknown): string {
  return value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}
