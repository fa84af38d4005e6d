/**
 * The built-in packages of the system namespace, `/whisk.system/alarms` and `/whisk.system/mqtt`, shaped as
 * OpenWhisk's catalog installs them: packages annotated with a description, feed actions annotated `feed: true`
 * with their parameters. Every engine makes them again; nobody can change or delete them.
 */
import type { ActionDoc, PackageDoc } from '../entities/types';
import { SYSTEM_NAMESPACE } from '../entities/entity-store';
import { BUILTIN_KIND } from '../invoker/builtin-action';
import type { FeedProvider } from './feed-provider';

export interface SystemPackage {
  readonly name: string;
  readonly description: string;
  readonly feeds: readonly FeedProvider[];
}

/** `/whisk.system/alarms/alarm`: the path a feed is known by in lifecycle calls and in the feed store. */
export function feedPath(pkg: string, feed: string): string {
  return `/${SYSTEM_NAMESPACE}/${pkg}/${feed}`;
}

const BASE = { version: '0.0.1', publish: true, updated: 0 } as const;

export function packageDoc(pkg: SystemPackage): PackageDoc {
  return {
    ...BASE,
    namespace: SYSTEM_NAMESPACE,
    name: pkg.name,
    parameters: [],
    annotations: [
      { key: 'description', value: pkg.description },
      { key: 'parameters', value: [] },
    ],
  };
}

export function feedActionDoc(pkg: SystemPackage, feed: FeedProvider): ActionDoc {
  return {
    ...BASE,
    namespace: `${SYSTEM_NAMESPACE}/${pkg.name}`,
    name: feed.name,
    exec: { kind: BUILTIN_KIND, code: '', binary: false },
    parameters: [],
    // A lifecycle call changes only the engine's own state: short limits, no container.
    limits: { timeout: 60_000, memory: 128, logs: 0, concurrency: 1 },
    annotations: [
      { key: 'feed', value: true },
      { key: 'description', value: feed.description },
      { key: 'parameters', value: feed.parameters.map((p) => ({ ...p })) },
    ],
  };
}
