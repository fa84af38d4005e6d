/** The engine's event map: activation lifecycle and pool notices. */
import type { Activation } from './activations/record';
import type { FeedStatusEvent } from './feeds/feed-service';
import type { PullProgress } from './runtimes/runtime';

export interface ActivationEventInfo {
  readonly activationId: string;
  readonly namespace: string;
  readonly name: string;
  readonly kind: string;
  /** Parent sequence activation, for sequence components. */
  readonly cause?: string;
}

export interface EngineEvents {
  /** Accepted and waiting for a container. */
  'activation:queued': [ActivationEventInfo];
  /** Has a container; init or run is starting. */
  'activation:started': [ActivationEventInfo];
  /** Finished, with its record (API view). Emitted for actions, sequences and triggers. */
  'activation:completed': [Activation];
  /** A container could not be started (the affected activations fail with a whisk internal error). */
  'container:start-failed': [{ readonly runtime: string; readonly kind: string; readonly error: unknown }];
  /** A container died on its own (crash, OOM, killed from outside) and was removed from the pool. */
  'container:exit': [{ readonly runtime: string; readonly key: string | undefined; readonly failure: unknown }];
  /** Progress of an image pull (Docker): `current`/`total` bytes when the registry reports them. */
  'runtime:pull': [{ readonly runtime: string } & PullProgress];
  /** Something the operator should know about a runtime, e.g. a relaxed Docker hardening default. */
  'runtime:warning': [{ readonly runtime: string; readonly message: string }];
  /** A trigger's feed changed state: scheduled with its next fire time, connected, failing and why, finished, paused. */
  'feed:status': [FeedStatusEvent];
  /**
   * A feed fired its trigger: the trigger activation's id, absent when no rule was active (nothing is recorded then).
   * Lets a listener tell a feed's fires from the same trigger fired by anyone else, without hearing every activation.
   */
  'feed:fired': [{ readonly trigger: string; readonly feed: string; readonly activationId?: string }];
}
