/** Size in bytes of `value` serialized as UTF-8 JSON, the measure OpenWhisk's size limits use. */
export function jsonSize(value: unknown): number {
  const text = JSON.stringify(value);
  return text === undefined ? 0 : Buffer.byteLength(text, 'utf8');
}
