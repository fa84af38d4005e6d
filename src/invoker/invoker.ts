/**
 * The invoker: runs one activation of an action on a pooled container and writes its record.
 *
 * It acquires a container, sends `init` when the container is fresh, then `run`, each under the action's time
 * limit, judges the outcomes, collects logs, and hands the container back (destroying it after anything but
 * success or an application error). `run()` never rejects: every failure becomes an activation record.
 */
import { LOG_DEVELOPER_ERROR_WARNING, LogCollector } from '../activations/log-collector';
import { actionAnnotations, activationRecord } from '../activations/record-builder';
import { STATUS, type StoredActivation } from '../activations/record';
import type { ActionDoc, CodeExec } from '../entities/types';
import { isEdgeWhiskError } from '../errors';
import type { Container, Outcome, Placement } from '../runtimes/runtime';
import type { ContainerPool, Lease } from './container-pool';
import { judgeInit, judgeRun, MESSAGES, type Verdict } from './judge';

export interface InvocationJob {
  readonly activationId: string;
  readonly action: ActionDoc;
  readonly exec: CodeExec;
  readonly runtime: string;
  /** Run arguments: defaults merged with the payload, `init` parameters removed. */
  readonly params: unknown;
  /** `init` parameters, exported as environment variables at init. */
  readonly initEnv: Readonly<Record<string, string>>;
  /** The invoking namespace (and subject). */
  readonly namespace: string;
  /** Epoch ms when the engine accepted the invocation (the start of `waitTime`). */
  readonly receivedAt: number;
  readonly transactionId: string;
  readonly cause?: string;
  readonly causedBy?: string;
  /** `ns/binding` when invoked through a package binding. */
  readonly binding?: string;
  /** Runtime-specific settings read from the action's annotations by its runtime. */
  readonly placement?: Placement;
  /** Which run of an accepted invocation this is (1 = the first; docs/durability.md). */
  readonly attempt?: number;
}

export interface InvokerHooks {
  /** Called when the activation has a container and init or run begins (before its code gets it). */
  readonly onStart?: (job: InvocationJob) => void;
}

export interface InvokerOptions {
  readonly resultLimit: number;
}

const TIMED_OUT = Symbol('timeout');

/** A lost container is the engine's failure: its logs say what the runtime knows, for whoever has to fix it. */
function explainLoss(outcome: Outcome, logs: LogCollector): void {
  if (outcome.type === 'lost') logs.addSystem(`The container was lost: ${outcome.detail ?? 'no detail'}`);
}

export class Invoker {
  readonly #pool: ContainerPool;
  readonly #options: InvokerOptions;
  readonly #hooks: InvokerHooks;

  constructor(pool: ContainerPool, options: InvokerOptions, hooks: InvokerHooks = {}) {
    this.#pool = pool;
    this.#options = options;
    this.#hooks = hooks;
  }

  async run(job: InvocationJob): Promise<StoredActivation> {
    const { action } = job;
    const logLimit = action.limits.logs * 1024 * 1024;
    const logs = new LogCollector(logLimit);
    let lease: Lease;
    try {
      lease = await this.#pool.acquire({
        runtime: job.runtime,
        key: `${job.runtime}|${action.namespace}/${action.name}@${action.version}#${action.updated}`,
        kind: job.exec.kind,
        memory: action.limits.memory,
        concurrency: action.limits.concurrency,
        ...(job.exec.image === undefined ? {} : { image: job.exec.image }),
        ...(job.placement === undefined ? {} : { placement: job.placement }),
      });
    } catch (error) {
      const now = Date.now();
      const aborted = isEdgeWhiskError(error, 'EW_ENGINE_ABORTED');
      const message = aborted ? error.message : MESSAGES.provisionFailed;
      // Say why in the activation's logs: a missing interpreter or a stopped daemon is the user's to fix.
      if (!aborted) logs.addSystem(`Could not start a container: ${error instanceof Error ? error.message : String(error)}`, now);
      return this.#record(job, now, now, { statusCode: STATUS.INTERNAL_ERROR, result: { error: message } }, logs, {
        waitTime: now - job.receivedAt,
        timedOut: false,
      });
    }

    const start = Date.now();
    this.#hooks.onStart?.(job);
    const timeout = action.limits.timeout;
    const sink = (stream: 'stdout' | 'stderr', text: string, time: number): void => logs.add(stream, text, time);
    let initTime: number | undefined;
    let verdict: Verdict | undefined;
    let timedOut = false;
    try {
      if (lease.needsInit) {
        const initOutcome = await this.#withTimeout(lease.container, lease.container.init(
          { name: action.name, main: job.exec.main ?? 'main', code: job.exec.code, binary: job.exec.binary, env: job.initEnv, logLimit },
          sink,
        ), timeout);
        initTime = Date.now() - start;
        if (initOutcome === TIMED_OUT) {
          timedOut = true;
          verdict = { statusCode: STATUS.DEVELOPER_ERROR, result: { error: MESSAGES.initTimeout(timeout) } };
        } else {
          verdict = judgeInit(initOutcome);
          explainLoss(initOutcome, logs);
          if (verdict === undefined) this.#pool.initialized(lease);
        }
      }
      if (verdict === undefined) {
        const runStart = Date.now();
        const runOutcome = await this.#withTimeout(lease.container, lease.container.run(
          {
            value: job.params,
            namespace: job.namespace,
            action_name: `/${action.namespace}/${action.name}`,
            action_version: action.version,
            activation_id: job.activationId,
            transaction_id: job.transactionId,
            deadline: String(runStart + timeout),
          },
          sink,
        ), timeout);
        if (runOutcome === TIMED_OUT) {
          timedOut = true;
          verdict = { statusCode: STATUS.DEVELOPER_ERROR, result: { error: MESSAGES.timeout(timeout) } };
        } else {
          verdict = judgeRun(runOutcome, this.#options.resultLimit);
          explainLoss(runOutcome, logs);
        }
      }
    } catch (error) {
      // Runtimes never reject by contract; if one does, it is the engine's fault, not the action's.
      verdict = { statusCode: STATUS.INTERNAL_ERROR, result: { error: MESSAGES.internal } };
      logs.addSystem(String(error));
    }
    if (this.#pool.closed && verdict.statusCode !== STATUS.SUCCESS && verdict.statusCode !== STATUS.APPLICATION_ERROR) {
      // The engine destroyed the container while shutting down: not the action's fault.
      verdict = { statusCode: STATUS.INTERNAL_ERROR, result: { error: MESSAGES.shutdown } };
    }
    const end = Date.now();
    const healthy = verdict.statusCode === STATUS.SUCCESS || verdict.statusCode === STATUS.APPLICATION_ERROR;
    if (verdict.statusCode === STATUS.DEVELOPER_ERROR) logs.addSystem(LOG_DEVELOPER_ERROR_WARNING, end);
    this.#pool.release(lease, healthy);
    return this.#record(job, start, end, verdict, logs, {
      waitTime: start - job.receivedAt,
      timedOut,
      ...(initTime === undefined ? {} : { initTime }),
    });
  }

  /** Races an operation against the time limit; on expiry the container is destroyed, which stops the action. */
  #withTimeout(container: Container, operation: Promise<Outcome>, ms: number): Promise<Outcome | typeof TIMED_OUT> {
    // One promise and one timer per operation (no race/finally chains): this runs for every activation.
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        container.destroy().catch(() => undefined);
        resolve(TIMED_OUT);
      }, ms);
      operation.then(
        (outcome) => {
          clearTimeout(timer);
          resolve(outcome);
        },
        (error: unknown) => {
          clearTimeout(timer);
          resolve({ type: 'exited', detail: String(error) });
        },
      );
    });
  }

  #record(
    job: InvocationJob,
    start: number,
    end: number,
    verdict: Verdict,
    logs: LogCollector,
    timing: { waitTime: number; timedOut: boolean; initTime?: number },
  ): StoredActivation {
    return activationRecord({
      entity: job.action,
      namespace: job.namespace,
      activationId: job.activationId,
      start,
      end,
      cause: job.cause,
      response: verdict,
      logs: logs.lines(),
      annotations: actionAnnotations(job.action, job.exec.kind, { ...timing, causedBy: job.causedBy, binding: job.binding, attempt: job.attempt }),
    });
  }
}
