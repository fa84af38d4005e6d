/**
 * An MQTT message as the payload the MQTT feed fires its trigger with: `{ topic, payload, qos, retain }`, where
 * `payload` is the message JSON-decoded when it is JSON (a sensor's `21.5` becomes a number), else its UTF-8 text,
 * else (bytes that are not UTF-8: an image, a protobuf) base64 with `encoding: 'base64'` beside it.
 */
import { isUtf8 } from 'node:buffer';

export interface MqttFirePayload extends Record<string, unknown> {
  readonly topic: string;
  readonly payload: unknown;
  readonly qos: number;
  readonly retain: boolean;
  readonly encoding?: 'base64';
}

export function firePayload(topic: string, message: Buffer, qos: number, retain: boolean): MqttFirePayload {
  if (!isUtf8(message)) return { topic, payload: message.toString('base64'), qos, retain, encoding: 'base64' };
  const text = message.toString('utf8');
  return { topic, payload: jsonOrText(text), qos, retain };
}

function jsonOrText(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
