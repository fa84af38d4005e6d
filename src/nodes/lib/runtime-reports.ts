/**
 * What runtimes report about themselves (Docker: image pulls, relaxed hardening, a missing sandbox) shown on the
 * engine node: pulls as its status ("pulling <image> 45%"), warnings with `node.warn`, so they reach the editor.
 */
import type { EngineEvents } from '../../events';
import type { NodeEngine } from './node-engine';
import type { NodeStatus } from './red-types';

/** Pull progress is shown at most this often: the daemon reports every chunk of every layer. */
const PULL_STATUS_INTERVAL_MS = 250;
/** A pull that has been silent this long has ended (a failed one reports nothing more). */
const PULL_QUIET_MS = 30_000;

type Pull = EngineEvents['runtime:pull'][0];

/** The status text of a pull: "pulling <image> 45%" once the daemon knows the sizes. */
export function pullText(progress: Pull): string {
  const { image, current, total } = progress;
  if (current === undefined || total === undefined || total <= 0) return `pulling ${image}`;
  return `pulling ${image} ${Math.min(100, Math.floor((current / total) * 100))}%`;
}

/** The daemon's last word on a pull that succeeded. */
function pullDone(progress: Pull): boolean {
  return /^(Status: )?(Downloaded newer image|Image is up to date)/.test(progress.status);
}

export interface ReportTarget {
  status(status: NodeStatus): void;
  warn(message: unknown): void;
}

/**
 * Subscribes `target` to `engine`'s runtime reports; between pulls it shows `base()`. Returns the unsubscribe
 * function, which also cancels the pending timer.
 */
export function reportRuntime(engine: Pick<NodeEngine, 'on' | 'off'>, target: ReportTarget, base: () => NodeStatus): () => void {
  let shownAt = 0;
  let shown = '';
  let quiet: NodeJS.Timeout | undefined;
  let closed = false;
  const settle = (): void => {
    clearTimeout(quiet);
    quiet = undefined;
    if (shown === '' || closed) return;
    shown = '';
    target.status(base());
  };
  const onPull = (progress: Pull): void => {
    if (closed) return;
    if (pullDone(progress)) return settle();
    clearTimeout(quiet);
    quiet = setTimeout(settle, PULL_QUIET_MS);
    quiet.unref();
    const text = pullText(progress);
    const now = Date.now();
    if (text === shown || (shown !== '' && now - shownAt < PULL_STATUS_INTERVAL_MS)) return;
    shown = text;
    shownAt = now;
    target.status({ fill: 'blue', shape: 'dot', text });
  };
  const onWarning = (warning: EngineEvents['runtime:warning'][0]): void => {
    if (!closed) target.warn(`${warning.runtime} runtime: ${warning.message}`);
  };
  // A pull that failed ends in a failed container start, and nothing more from the pull.
  const onStartFailed = (failure: EngineEvents['container:start-failed'][0]): void => {
    if (failure.runtime === 'docker') settle();
  };
  engine.on('runtime:pull', onPull);
  engine.on('runtime:warning', onWarning);
  engine.on('container:start-failed', onStartFailed);
  return () => {
    closed = true;
    clearTimeout(quiet);
    engine.off('runtime:pull', onPull);
    engine.off('runtime:warning', onWarning);
    engine.off('container:start-failed', onStartFailed);
  };
}
