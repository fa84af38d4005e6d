/** The one builder of activation records (src/activations/record-builder.ts): OpenWhisk's fields and annotation order. */
import { describe, expect, it } from 'vitest';
import { actionAnnotations, activationRecord, sequenceAnnotations, triggerAnnotations } from '../../src/activations/record-builder';
import type { ActionDoc, TriggerDoc } from '../../src/entities/types';

const limits = { timeout: 60_000, memory: 256, logs: 10, concurrency: 1 };
const action: ActionDoc = {
  namespace: 'guest/pkg',
  name: 'inner',
  version: '0.0.2',
  publish: false,
  annotations: [],
  updated: 1,
  exec: { kind: 'nodejs:24', code: 'function main() {}', binary: false },
  parameters: [],
  limits,
};

describe('activationRecord', () => {
  it("writes an action's record: the invoking namespace as subject, duration end - start, size only when known", () => {
    const record = activationRecord({
      entity: action,
      namespace: 'guest',
      activationId: 'a'.repeat(32),
      start: 1_000,
      end: 1_250,
      cause: undefined,
      response: { statusCode: 0, result: { ok: true }, size: undefined },
      logs: ['line'],
      annotations: [],
    });
    expect(record).toEqual({
      namespace: 'guest',
      name: 'inner',
      subject: 'guest',
      activationId: 'a'.repeat(32),
      version: '0.0.2',
      publish: false,
      start: 1_000,
      end: 1_250,
      duration: 250,
      response: { statusCode: 0, result: { ok: true } },
      logs: ['line'],
      annotations: [],
    });
    expect(Object.keys(record)).not.toContain('cause');
    expect(Object.keys(record.response)).toEqual(['statusCode', 'result']);
  });

  it("keeps a sequence's own duration and cause, and shows a trigger's activation with end 0 and no duration", () => {
    const sequence = activationRecord({ entity: action, namespace: 'guest', activationId: 's', start: 1, end: 900, duration: 40, cause: 'parent', response: { statusCode: 1, result: {}, size: 2 }, logs: [], annotations: [] });
    expect(sequence).toMatchObject({ duration: 40, cause: 'parent', response: { statusCode: 1, result: {}, size: 2 } });
    const trigger: TriggerDoc = { namespace: 'guest', name: 't', version: '0.0.1', publish: false, annotations: [], updated: 1, parameters: [], limits: {}, rules: {} };
    const fired = activationRecord({ entity: trigger, namespace: 'guest', activationId: 't', start: 5, end: 0, response: { statusCode: 0, result: { n: 1 } }, logs: [], annotations: triggerAnnotations(trigger) });
    expect(fired.end).toBe(0);
    expect(Object.keys(fired)).not.toContain('duration');
    expect(fired.annotations).toEqual([{ key: 'path', value: 'guest/t' }]);
  });
});

describe('annotations', () => {
  it("lists an action's in the invoker's order, the optional ones only when they apply", () => {
    expect(actionAnnotations(action, 'nodejs:24', { waitTime: -3, timedOut: false }).map((a) => a.key)).toEqual(['path', 'waitTime', 'kind', 'timeout', 'limits']);
    const full = actionAnnotations(action, 'nodejs:24', { waitTime: 7, timedOut: true, initTime: 30, causedBy: 'sequence', binding: 'guest/bound' });
    expect(full).toEqual([
      { key: 'path', value: 'guest/pkg/inner' },
      { key: 'waitTime', value: 7 },
      { key: 'kind', value: 'nodejs:24' },
      { key: 'timeout', value: true },
      { key: 'limits', value: limits },
      { key: 'initTime', value: 30 },
      { key: 'causedBy', value: 'sequence' },
      { key: 'binding', value: 'guest/bound' },
    ]);
    // A clock stepping back never makes a negative wait.
    expect(actionAnnotations(action, 'nodejs:24', { waitTime: -3, timedOut: false })[1]).toEqual({ key: 'waitTime', value: 0 });
  });

  it("lists a sequence's with topmost first and the largest component memory as its limit", () => {
    expect(sequenceAnnotations(action, { memory: 512 })).toEqual([
      { key: 'topmost', value: true },
      { key: 'path', value: 'guest/pkg/inner' },
      { key: 'kind', value: 'sequence' },
      { key: 'waitTime', value: 0 },
      { key: 'limits', value: { ...limits, memory: 512 } },
    ]);
    const nested = sequenceAnnotations(action, { memory: 256, causedBy: 'sequence' });
    expect(nested[0]).toEqual({ key: 'topmost', value: false });
    expect(nested.at(-1)).toEqual({ key: 'causedBy', value: 'sequence' });
  });
});
