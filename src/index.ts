/**
 * The package's main entry: the embedded engine's public API. It loads from plain Node.js with no Node-RED
 * installed (`createEngine()`); the Node-RED nodes under `nodes/` are a thin layer over the same engine.
 */
export { createEngine, Engine, type EngineConfig, type EngineStats } from './engine';
export { DEFAULTS, resolveOptions, type EngineOptions, type EngineOptionsInput, type ActionLimitRanges, type LimitRange } from './options';
export { ERROR_CODES, EdgeWhiskError, isEdgeWhiskError, type ErrorCode } from './errors';
export type { EngineEvents, ActivationEventInfo } from './events';
export {
  STATUS,
  STATUS_MESSAGES,
  STATUS_NAMES,
  type Activation,
  type ActivationResponse,
  type ActivationSummary,
  type StoredActivation,
} from './activations/record';
export type { ActivationStore, ActivationQuery } from './activations/activation-store';
export { MemoryActivationStore } from './activations/memory-activation-store';
export { SqliteActivationStore, type SqliteActivationStoreOptions } from './store/sqlite-activation-store';
export type { Runtime, RuntimeReporter, PullProgress, Container, ContainerSpec, Placement, InitPayload, RunPayload, Outcome, LogSink } from './runtimes/runtime';
export { WorkerRuntime } from './runtimes/worker/worker-runtime';
export { ProcessRuntime, type ProcessRuntimeOptions } from './runtimes/process/process-runtime';
export { ENTITY_NAME, isValidEntityName } from './entities/names';
export type { ActionOptions, InvokeOptions } from './api/actions-api';
export type { Caller } from './engine-context';
export type { TriggerOptions, FireOptions } from './api/triggers-api';
export type { RuleOptions } from './api/rules-api';
export type { ActivationListOptions } from './api/activations-api';
export type { ActionView, ExecView, TriggerView, RuleView, PackageView, EntityReference } from './entities/views';
export { createRestApi, type RestApiOptions } from './rest/rest-api';
export { startStandalone, type Standalone, type StandaloneOptions } from './rest/standalone';
