/** awaitActivation: the one bounded wait behind blocking invokes (API and REST) and `activations.wait`. */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { awaitActivation } from '../../src/activations/await-activation';

afterEach(() => {
  vi.useRealTimers();
});

describe('awaitActivation', () => {
  it('resolves with the value when it comes in time, and leaves no timer behind', async () => {
    vi.useFakeTimers();
    const waiting = awaitActivation(Promise.resolve('record'), 1_000);
    await expect(waiting).resolves.toBe('record');
    expect(vi.getTimerCount()).toBe(0);
  });

  it('resolves with undefined when the wait runs out first', async () => {
    vi.useFakeTimers();
    let settle: (value: string) => void = () => undefined;
    const waiting = awaitActivation(new Promise<string>((resolve) => (settle = resolve)), 200);
    await vi.advanceTimersByTimeAsync(200);
    await expect(waiting).resolves.toBeUndefined();
    // A late value changes nothing.
    settle('late');
    await expect(waiting).resolves.toBeUndefined();
  });

  it('rejects when the awaited promise rejects first, and a late rejection is not left unhandled', async () => {
    await expect(awaitActivation(Promise.reject(new Error('store down')), 1_000)).rejects.toThrow('store down');
    vi.useFakeTimers();
    let fail: (error: Error) => void = () => undefined;
    const waiting = awaitActivation(new Promise<string>((_resolve, reject) => (fail = reject)), 10);
    await vi.advanceTimersByTimeAsync(10);
    await expect(waiting).resolves.toBeUndefined();
    fail(new Error('too late'));
  });
});
