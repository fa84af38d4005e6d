/**
 * What the nodes need from an engine: the embedded `Engine`, or a `RemoteEngine` speaking to an OpenWhisk
 * deployment. Both satisfy it, so every node works unchanged in either mode.
 */
import type { Activation } from '../../activations/record';
import type { ActionOptions } from '../../api/actions-api';
import type { ActionView, RuleView, TriggerView } from '../../entities/views';
import type { EngineEvents } from '../../events';
import type { ActionLimitRanges } from '../../options';

export interface NodeEngine {
  readonly options: { readonly namespace: string; readonly limits: ActionLimitRanges };
  readonly closed: boolean;
  readonly actions: {
    get(options: { name: string; code?: boolean }): Promise<ActionView>;
    create(options: ActionOptions): Promise<ActionView>;
    delete(options: { name: string }): Promise<ActionView>;
    start(options: { name: string; params?: unknown; durable?: boolean }): Promise<{ activationId: string; activation: Promise<Activation> }>;
  };
  readonly triggers: {
    get(options: { name: string }): Promise<TriggerView>;
    create(options: { name: string }): Promise<TriggerView>;
    invoke(options: { name: string; params?: Record<string, unknown> }): Promise<{ activationId?: string }>;
  };
  readonly rules: {
    get(options: { name: string }): Promise<RuleView>;
    create(options: { name: string; trigger?: string; action?: string; status?: 'active' | 'inactive'; overwrite?: boolean }): Promise<RuleView>;
    update(options: { name: string; trigger?: string; action?: string; status?: 'active' | 'inactive' }): Promise<RuleView>;
    enable(options: { name: string }): Promise<RuleView>;
    disable(options: { name: string }): Promise<RuleView>;
    delete(options: { name: string }): Promise<RuleView>;
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
