/** `engine.activations`: the `openwhisk` client's `ow.activations` (list, get, logs, result). */
import type { ActivationStore } from '../activations/activation-store';
import { awaitActivation } from '../activations/await-activation';
import { toApiView, toSummary, type Activation, type ActivationResponse, type ActivationSummary } from '../activations/record';
import type { ActivationsContext } from '../engine-context';
import { ewError } from '../errors';
import { listWindow } from './list-options';

export interface ActivationListOptions {
  readonly namespace?: string;
  /** Entity name. */
  readonly name?: string;
  readonly skip?: number | string;
  readonly limit?: number | string;
  /** Epoch ms: only activations that started at or after it. */
  readonly since?: number | string;
  /** Epoch ms: only activations that started at or before it. */
  readonly upto?: number | string;
  /** Full records instead of summaries. */
  readonly docs?: boolean;
  /** Only the number of matching activations, as `{activations: n}`. */
  readonly count?: boolean;
}

type IdOptions = string | { readonly activationId?: string; readonly activation?: string; readonly name?: string };

function pickId(options: IdOptions): string {
  if (typeof options === 'string') return options;
  const id = options?.activationId ?? options?.activation ?? options?.name;
  if (typeof id !== 'string') throw new TypeError('Missing activation id from parameters, supported parameter names: activationId, name');
  return id;
}

function epoch(value: number | string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = typeof value === 'number' ? value : Number(value);
  if (!Number.isFinite(n) || n < 0 || (typeof value === 'string' && value.trim() === '')) throw ewError('EW_LIST_EPOCH_INVALID', [String(value)]);
  return n;
}

export class ActivationsApi {
  readonly #core: ActivationsContext;

  constructor(core: ActivationsContext) {
    this.#core = core;
  }

  get #store(): ActivationStore {
    return this.#core.activations;
  }

  async list(options: ActivationListOptions = {}): Promise<ActivationSummary[] | Activation[] | { activations: number }> {
    if (options.docs === true && options.count === true) throw ewError('EW_LIST_DOCS_WITH_COUNT', []);
    const { skip, limit } = listWindow(options, 'activations');
    const namespace = options.namespace === undefined || options.namespace === '_' ? this.#core.options.namespace : options.namespace;
    const since = epoch(options.since);
    const upto = epoch(options.upto);
    const filter = {
      namespace,
      ...(options.name === undefined ? {} : { name: this.#core.name(options.name).name }),
      ...(since === undefined ? {} : { since }),
      ...(upto === undefined ? {} : { upto }),
    };
    if (options.count === true) return { activations: await this.#store.count(filter) };
    const records = await this.#store.list({ ...filter, skip, limit });
    return options.docs === true ? records.map(toApiView) : records.map(toSummary);
  }

  async get(options: IdOptions): Promise<Activation> {
    const record = await this.#store.get(pickId(options));
    if (record === undefined) throw ewError('EW_ACTIVATION_NOT_FOUND', [], { activationId: pickId(options) });
    return toApiView(record);
  }

  /**
   * EdgeWhisk extension: resolves with the record once the activation has completed (at once if it already has),
   * or rejects with `EW_ACTIVATION_WAIT_EXPIRED` after `timeout` ms. How non-blocking callers collect results.
   */
  wait(options: IdOptions & { readonly timeout?: number } | string, timeout = 60_000): Promise<Activation> {
    const id = pickId(options);
    const ms = typeof options === 'object' && options.timeout !== undefined ? options.timeout : timeout;
    if (!Number.isInteger(ms) || ms < 0) throw new TypeError(`Expected \`timeout\` to be a non-negative integer, got \`${String(ms)}\``);
    const core = this.#core;
    let onCompleted: (activation: Activation) => void = () => undefined;
    const completed = new Promise<Activation>((resolve, reject) => {
      onCompleted = (activation) => {
        if (activation.activationId === id) resolve(activation);
      };
      // Listen before looking, so a completion between the look and the listen is not missed.
      core.on('activation:completed', onCompleted);
      Promise.resolve(this.#store.get(id)).then(
        (record) => {
          if (record !== undefined) resolve(toApiView(record));
        },
        (error: unknown) => reject(error instanceof Error ? error : new Error(String(error))),
      );
    });
    return awaitActivation(completed, ms)
      .finally(() => core.off('activation:completed', onCompleted))
      .then((activation) => {
        if (activation === undefined) throw ewError('EW_ACTIVATION_WAIT_EXPIRED', [id, ms], { activationId: id });
        return activation;
      });
  }

  async logs(options: IdOptions): Promise<{ logs: readonly string[] }> {
    return { logs: (await this.get(options)).logs };
  }

  async result(options: IdOptions): Promise<ActivationResponse> {
    return (await this.get(options)).response;
  }
}
