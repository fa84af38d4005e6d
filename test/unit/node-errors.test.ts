/**
 * How the nodes name a failure (src/nodes/lib/node-errors.ts): from the record's status code and annotations and the
 * engine's error codes, never from what the error's words happen to contain. An action returning
 * `{error: "low memory"}` used to show "out of memory", and one returning "time limit reached" "timeout".
 */
import { describe, expect, it } from 'vitest';
import type { Activation } from '../../src/activations/record';
import { ewError } from '../../src/errors';
import { ActivationError, errorStatus, failureLabel, isMissingEntity } from '../../src/nodes/lib/node-errors';
import { testEngine } from '../helpers/engine';

async function failedRecord(code: string, params: object = {}, limits: object = {}): Promise<Activation> {
  const engine = testEngine();
  await engine.actions.create({ name: 'failing', action: code, limits });
  const started = await engine.actions.start({ name: 'failing', params });
  return started.activation;
}

describe('failureLabel and errorStatus', () => {
  it('calls an application error an application error, whatever its message says', async () => {
    for (const error of ['low memory', 'out of memory', 'The action exhausted its memory and was aborted.', 'time limit reached']) {
      const record = await failedRecord(`function main() { return { error: ${JSON.stringify(error)} }; }`);
      expect(record.response.statusCode).toBe(1);
      expect(failureLabel(record)).toBe('application error');
      expect(errorStatus(new ActivationError(record))).toEqual({ fill: 'red', shape: 'ring', text: 'application error' });
    }
  });

  it('calls a time-out a timeout, from the record\'s timeout annotation', async () => {
    const record = await failedRecord('async function main() { await new Promise(() => {}); }', {}, { timeout: 150 });
    expect(record.annotations).toContainEqual({ key: 'timeout', value: true });
    expect(errorStatus(new ActivationError(record)).text).toBe('timeout');
  });

  it('calls a developer error with OpenWhisk\'s memory message out of memory', () => {
    const record: Activation = {
      namespace: 'guest',
      name: 'hog',
      subject: 'guest',
      activationId: '0'.repeat(32),
      version: '0.0.1',
      publish: false,
      start: 1,
      end: 2,
      duration: 1,
      response: { status: 'action developer error', statusCode: 2, success: false, result: { error: 'The action exhausted its memory and was aborted.' } },
      logs: [],
      annotations: [{ key: 'timeout', value: false }],
    };
    expect(failureLabel(record)).toBe('out of memory');
    // The same words as an action's own error are not a memory failure.
    expect(failureLabel({ ...record, response: { ...record.response, status: 'application error', statusCode: 1 } })).toBe('application error');
  });

  it('shows a 429 refusal as throttled, and other refusals by their message', () => {
    expect(errorStatus(ewError('EW_THROTTLED_CONCURRENT', [3, 2])).text).toBe('throttled');
    expect(errorStatus(ewError('EW_ENTITY_NOT_FOUND', [])).text).toBe('The requested resource …');
  });
});

describe('isMissingEntity', () => {
  const SEQUENCE = ['EW_SEQUENCE_COMPONENT_MISSING'] as const;

  it('goes by the code for an embedded engine', () => {
    expect(isMissingEntity(ewError('EW_SEQUENCE_COMPONENT_MISSING', []), SEQUENCE, /component does not exist/)).toBe(true);
    expect(isMissingEntity(ewError('EW_BINDING_MISSING', []), SEQUENCE, /does not exist/)).toBe(false);
    // An uncoded error is not trusted for its words.
    expect(isMissingEntity(new Error('Sequence component does not exist.'), SEQUENCE, /component does not exist/)).toBe(false);
  });

  it("reads the message only of a remote OpenWhisk's refusal, which has no EdgeWhisk code", () => {
    expect(isMissingEntity(ewError('EW_REMOTE_ERROR', ['Sequence component does not exist.'], {}, { statusCode: 400 }), SEQUENCE, /component does not exist/)).toBe(true);
    expect(isMissingEntity(ewError('EW_REMOTE_ERROR', ['The supplied authentication is invalid.'], {}, { statusCode: 401 }), SEQUENCE, /component does not exist/)).toBe(false);
  });
});
