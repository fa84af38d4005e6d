/**
 * What the nodes need from an engine: the embedded `Engine`, or a `RemoteEngine` speaking to an OpenWhisk
 * deployment. Both satisfy it, so every node works unchanged in either mode.
 */
import type { Activation } from '../../activations/record';
import type { EngineEvents } from '../../events';
import type { ActionLimitRanges } from '../../options';

type Doc = Promise<Record<string, unknown>>;

export interface NodeEngine {
  readonly options: { readonly namespace: string; readonly limits: ActionLimitRanges };
  readonly closed: boolean;
  readonly actions: {
    get(options: { name: string; code?: boolean }): Doc;
    create(options: Record<string, unknown>): Doc;
    delete(options: { name: string }): Doc;
    start(options: { name: string; params?: unknown }): Promise<{ activationId: string; activation: Promise<Activation> }>;
  };
  readonly triggers: {
    get(options: { name: string }): Doc;
    create(options: { name: string }): Doc;
    invoke(options: { name: string; params?: Record<string, unknown> }): Promise<{ activationId?: string }>;
  };
  readonly rules: {
    get(options: { name: string }): Doc;
    create(options: { name: string; trigger?: string; action?: string; status?: 'active' | 'inactive'; overwrite?: boolean }): Doc;
    update(options: { name: string; trigger?: string; action?: string; status?: 'active' | 'inactive' }): Doc;
    enable(options: { name: string }): Doc;
    disable(options: { name: string }): Doc;
    delete(options: { name: string }): Doc;
  };
  readonly activations: {
    get(id: string): Promise<Activation>;
    wait(options: { activationId: string; timeout?: number }): Promise<Activation>;
  };
  on<E extends keyof EngineEvents>(event: E, listener: (...args: EngineEvents[E]) => void): unknown;
  off<E extends keyof EngineEvents>(event: E, listener: (...args: EngineEvents[E]) => void): unknown;
  listenerCount<E extends keyof EngineEvents>(event: E): number;
  close(timeout?: number): Promise<void>;
}
