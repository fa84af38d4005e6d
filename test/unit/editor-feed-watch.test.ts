/** The editor feed listens to an engine only while a sidebar watch lasts (src/nodes/lib/editor-feed.ts). */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { forgetWatchers, noteWatcher, watchEngine, WATCH_TTL_MS } from '../../src/nodes/lib/editor-feed';
import { testEngine } from '../helpers/engine';

afterEach(() => {
  forgetWatchers();
  vi.useRealTimers();
});

describe('editor feed watch', () => {
  it('attaches no listener until watched, listens while watched, and stops when the watch lapses', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
    const engine = testEngine({ prewarmCount: 0 });
    const published: unknown[] = [];
    const stop = watchEngine(engine, { key: 'unit', label: 'unit' }, { publish: (_t, data) => published.push(data) });
    expect(engine.listenerCount('activation:queued')).toBe(0);
    noteWatcher();
    expect(engine.listenerCount('activation:queued')).toBe(1);
    // Renewed before it lapses: still listening past the first TTL.
    vi.advanceTimersByTime(WATCH_TTL_MS - 1_000);
    noteWatcher();
    vi.advanceTimersByTime(WATCH_TTL_MS - 1_000);
    expect(engine.listenerCount('activation:queued')).toBe(1);
    vi.advanceTimersByTime(2_000);
    expect(engine.listenerCount('activation:queued')).toBe(0);
    expect(engine.listenerCount('activation:completed')).toBe(0);
    stop();
    vi.useRealTimers();
    await engine.close();
  });
});
