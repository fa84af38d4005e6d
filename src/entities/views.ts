/**
 * The entities as the API returns them: OpenWhisk's JSON shapes (what `wsk` and the `openwhisk` client read), typed
 * once so every consumer — the REST layer, the Node-RED nodes, the remote engine — is checked against the same
 * contract instead of casting `Record<string, unknown>`. The stored documents (`types.ts`) are the engine's own.
 */
import type { ActionLimits, KeyValue, Parameter, RuleStatus } from './types';

export interface EntityView {
  readonly namespace: string;
  readonly name: string;
  readonly version: string;
  readonly publish: boolean;
  readonly annotations: readonly KeyValue[];
  /** Epoch ms of the last create or update. */
  readonly updated?: number;
}

/** `exec` as returned: the code is left out when asked (`code: false`); a sequence lists its components. */
export interface ExecView {
  readonly kind: string;
  readonly code?: string;
  readonly binary?: boolean;
  readonly main?: string;
  readonly image?: string;
  readonly components?: readonly string[];
}

export interface ActionView extends EntityView {
  readonly exec: ExecView;
  readonly parameters: readonly Parameter[];
  readonly limits: ActionLimits;
}

/** OpenWhisk's reference to an entity in a rule: `{path: 'ns', name}` (`ns/pkg` for an action in a package). */
export interface EntityReference {
  readonly path: string;
  readonly name: string;
}

export interface TriggerView extends EntityView {
  readonly parameters: readonly KeyValue[];
  readonly limits: Readonly<Record<string, never>>;
  /** `ruleFQN → {action, status}`. */
  readonly rules: Readonly<Record<string, { readonly action: EntityReference; readonly status: RuleStatus }>>;
}

export interface RuleView extends EntityView {
  readonly trigger: EntityReference;
  readonly action: EntityReference;
  readonly status: RuleStatus;
}

export interface PackageView extends EntityView {
  readonly parameters: readonly KeyValue[];
  /** `{}` for a package, `{namespace, name}` of the bound package for a binding. */
  readonly binding: Readonly<{ namespace?: string; name?: string }>;
  readonly actions: readonly { readonly name: string; readonly version: string; readonly annotations: readonly KeyValue[] }[];
  readonly feeds: readonly unknown[];
}

/** The fields every view shares, copied from the stored document (a caller may change what it gets back). */
export function entityViewFields(doc: EntityView): EntityView {
  return {
    namespace: doc.namespace,
    name: doc.name,
    version: doc.version,
    publish: doc.publish,
    annotations: doc.annotations.map((a) => ({ ...a })),
    ...(doc.updated === undefined ? {} : { updated: doc.updated }),
  };
}
