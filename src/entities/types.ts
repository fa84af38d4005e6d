/**
 * Stored entity documents, in OpenWhisk's shape (docs/semantics.md#entities) so that `get` returns what an OpenWhisk
 * client expects.
 */

export interface KeyValue {
  readonly key: string;
  readonly value: unknown;
}

/** An action parameter; `init` parameters go to the runtime's init as environment variables, not to runs. */
export interface Parameter extends KeyValue {
  readonly init?: boolean;
}

export interface ActionLimits {
  readonly timeout: number;
  readonly memory: number;
  readonly logs: number;
  readonly concurrency: number;
}

export interface CodeExec {
  readonly kind: string;
  readonly code: string;
  readonly binary: boolean;
  readonly main?: string;
  /** Image for blackbox actions. */
  readonly image?: string;
}

export interface SequenceExec {
  readonly kind: 'sequence';
  /** Fully qualified component names, `/ns/name`. */
  readonly components: readonly string[];
}

export type Exec = CodeExec | SequenceExec;

interface EntityBase {
  readonly namespace: string;
  readonly name: string;
  readonly version: string;
  readonly publish: boolean;
  readonly annotations: readonly KeyValue[];
  /** Epoch ms of the last create or update. */
  readonly updated: number;
}

export interface ActionDoc extends EntityBase {
  readonly exec: Exec;
  readonly parameters: readonly Parameter[];
  readonly limits: ActionLimits;
}

export type RuleStatus = 'active' | 'inactive';

export interface TriggerDoc extends EntityBase {
  readonly parameters: readonly KeyValue[];
  readonly limits: Record<string, never>;
  /** `ruleFQN → {action, status}`, kept on the trigger so firing needs one read (as OpenWhisk does). */
  readonly rules: Readonly<Record<string, { readonly action: string; readonly status: RuleStatus }>>;
}

export interface RuleDoc extends EntityBase {
  /** `{path: ns, name}` as OpenWhisk returns it. */
  readonly trigger: { readonly path: string; readonly name: string };
  readonly action: { readonly path: string; readonly name: string };
  readonly status: RuleStatus;
}

export interface PackageDoc extends EntityBase {
  readonly parameters: readonly KeyValue[];
  /** Set for a binding: the package it binds, `{namespace, name}`. */
  readonly binding?: { readonly namespace: string; readonly name: string };
}

export function isSequence(exec: Exec): exec is SequenceExec {
  return exec.kind === 'sequence';
}

export function annotation(annotations: readonly KeyValue[], key: string): unknown {
  return annotations.find((a) => a.key === key)?.value;
}
