import { WorkerRuntime, type Container, type ContainerSpec, type Runtime } from '../../src/index';

/** The real worker runtime, with a record of every container it creates and destroys. */
export class CountingRuntime implements Runtime {
  readonly name: string;
  readonly kinds: readonly string[];
  readonly created: ContainerSpec[] = [];
  readonly destroyed: string[] = [];
  readonly containers: Container[] = [];
  readonly #inner: Runtime;

  constructor(name = 'worker', inner: Runtime = new WorkerRuntime()) {
    this.name = name;
    this.#inner = inner;
    this.kinds = inner.kinds;
  }

  async create(spec: ContainerSpec): Promise<Container> {
    this.created.push(spec);
    const container = await this.#inner.create(spec);
    const destroyed = this.destroyed;
    const wrapped: Container = {
      id: container.id,
      init: (p, l) => container.init(p, l),
      run: (p, l) => container.run(p, l),
      destroy: () => {
        if (!destroyed.includes(container.id)) destroyed.push(container.id);
        return container.destroy();
      },
      onExit: (listener) => container.onExit(listener),
    };
    this.containers.push(wrapped);
    return wrapped;
  }
}
