/**
 * Runtimes report through the `RuntimeReporter` the engine hands to `start()`, whatever they are: the engine turns
 * each report into its `runtime:pull` / `runtime:warning` events, named after the runtime that made it.
 */
import { describe, expect, it } from 'vitest';
import { WorkerRuntime, type Container, type ContainerSpec, type Runtime, type RuntimeReporter } from '../../src/index';
import { testEngine } from '../helpers/engine';
import { hostNodeKind } from '../../src/runtimes/node-kinds';

/** The real worker runtime under another name, reporting a pull before each container and a warning at start. */
class ReportingRuntime implements Runtime {
  readonly name = 'reporting';
  readonly kinds: readonly string[];
  readonly #inner = new WorkerRuntime();
  #reporter: RuntimeReporter | undefined;

  constructor() {
    this.kinds = this.#inner.kinds;
  }

  start(reporter: RuntimeReporter): void {
    this.#reporter = reporter;
    reporter.warning('started without a sandbox');
  }

  async create(spec: ContainerSpec): Promise<Container> {
    this.#reporter?.pull({ image: `image-of-${spec.kind}`, status: 'Downloading', current: 5, total: 10 });
    return this.#inner.create(spec);
  }
}

describe('runtime reports', () => {
  it("become the engine's runtime:warning and runtime:pull events, named after the runtime", async () => {
    const warnings: unknown[] = [];
    const pulls: unknown[] = [];
    const runtime = new ReportingRuntime();
    // The warning is made in start(), while the engine is being made: it still reaches listeners added right after.
    const engine = testEngine({ runtimes: [runtime], defaultRuntime: 'reporting' });
    engine.on('runtime:pull', (p) => pulls.push(p));
    engine.on('runtime:warning', (w) => warnings.push(w));
    await engine.actions.create({ name: 'a', action: 'function main() { return { ok: true }; }' });
    expect(await engine.actions.invoke({ name: 'a', blocking: true, result: true })).toEqual({ ok: true });
    expect(pulls).toEqual([{ runtime: 'reporting', image: `image-of-${hostNodeKind()}`, status: 'Downloading', current: 5, total: 10 }]);
    expect(warnings).toEqual([{ runtime: 'reporting', message: 'started without a sandbox' }]);
  });
});
