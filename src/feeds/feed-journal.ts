/**
 * A trigger's feed as the engine keeps it: which feed, the config its provider made of the CREATE parameters, and
 * what the provider saved while running (a schedule's position). With a durable store it is written through to the
 * engine database (store/sqlite-feed-journal.ts) before a lifecycle call returns, so schedules and subscriptions
 * outlive restarts and power cuts.
 */
export interface FeedRecord {
  /** The trigger the feed fires, `/namespace/name`; one feed per trigger. */
  readonly trigger: string;
  /** The feed action, `/whisk.system/alarms/alarm`. */
  readonly feed: string;
  readonly config: Readonly<Record<string, unknown>>;
  /** What the provider saved last. */
  readonly saved?: Readonly<Record<string, unknown>>;
  /** Set by the PAUSE lifecycle event, cleared by UNPAUSE. */
  readonly paused: boolean;
  /** Epoch ms of CREATE and of the last UPDATE, PAUSE or UNPAUSE. */
  readonly created: number;
  readonly changed: number;
}

/** Where feeds persist; every write is durable when it returns, and throws (EW_STORE_FULL, …) when it is not. */
export interface FeedJournal {
  load(): FeedRecord[];
  put(record: FeedRecord): void;
  delete(trigger: string): void;
}
