/**
 * Wires the feeds into an engine: the providers behind the built-in packages, the service that runs them, the
 * packages' entities in the system namespace, and the built-in actions that take their lifecycle calls.
 */
import type { RulesApi } from '../api/rules-api';
import type { TriggersApi } from '../api/triggers-api';
import type { EngineCore } from '../engine-core';
import { fqn, requireNoPackage } from '../entities/names';
import { isEdgeWhiskError } from '../errors';
import type { BuiltinOutcome } from '../invoker/builtin-action';
import { createAlarmProviders } from './alarms-provider';
import { SYSTEM_CLOCK, type Clock } from './clock';
import { mqttProvider } from './mqtt-provider';
import type { FeedJournal } from './feed-journal';
import { FeedParameterError, type FeedProvider } from './feed-provider';
import { FeedService } from './feed-service';
import { feedActionDoc, feedPath, packageDoc, type SystemPackage } from './system-packages';

export interface EngineFeedsParts {
  readonly core: EngineCore;
  readonly triggers: TriggersApi;
  readonly rules: RulesApi;
  readonly journal: FeedJournal | undefined;
  readonly clock?: Clock;
}

export function systemPackages(options: { readonly catchUpWindow: number }): SystemPackage[] {
  return [
    { name: 'alarms', description: 'Alarms and periodic utility', feeds: createAlarmProviders(options) as unknown as FeedProvider[] },
    { name: 'mqtt', description: 'Fire triggers from MQTT messages', feeds: [mqttProvider as unknown as FeedProvider] },
  ];
}

export function createEngineFeeds(parts: EngineFeedsParts): FeedService {
  const { core, triggers, rules } = parts;
  const packages = systemPackages({ catchUpWindow: core.options.alarmCatchUpWindow });
  const providers = new Map<string, FeedProvider>();
  for (const pkg of packages) for (const feed of pkg.feeds) providers.set(feedPath(pkg.name, feed.name), feed);

  const announceFire = (trigger: string, activationId: string | undefined): void => {
    if (core.listenerCount('feed:fired') === 0) return;
    const feed = service.statusOf(trigger)?.feed ?? '';
    try {
      core.emit('feed:fired', { trigger, feed, ...(activationId === undefined ? {} : { activationId }) });
    } catch (error) {
      process.emitWarning(`A 'feed:fired' listener threw: ${String(error)}`, 'EdgeWhiskWarning');
    }
  };

  const service = new FeedService(providers, parts.journal, {
    clock: parts.clock ?? SYSTEM_CLOCK,
    triggerName(input) {
      try {
        const q = requireNoPackage(core.name(input), 'trigger');
        if (q.namespace !== core.options.namespace) throw new FeedParameterError(`trigger ${fqn(q)} is not in this engine's namespace '${core.options.namespace}'`);
        return fqn(q);
      } catch (error) {
        if (error instanceof FeedParameterError) throw error;
        throw new FeedParameterError(`triggerName parameter '${String(input)}' is not a trigger name: ${isEdgeWhiskError(error) ? error.message : String(error)}`);
      }
    },
    triggerExists(trigger) {
      try {
        return core.entities.find('trigger', core.name(trigger)) !== undefined;
      } catch {
        return false;
      }
    },
    async fire(trigger, payload) {
      try {
        const fired = await triggers.invoke({ name: trigger, params: payload });
        announceFire(trigger, fired.activationId);
        return fired.activationId === undefined ? { fired: true } : { fired: true, activationId: fired.activationId };
      } catch (error) {
        const gone = isEdgeWhiskError(error) && error.code === 'EW_ENTITY_NOT_FOUND';
        return { fired: false, reason: error instanceof Error ? error.message : String(error), ...(gone ? { gone } : {}) };
      }
    },
    async remove(trigger, what) {
      const doc = core.entities.find('trigger', core.name(trigger));
      if (doc === undefined) return;
      if (what === 'rules') for (const rule of Object.keys(doc.rules)) await rules.delete({ name: rule }).catch(() => undefined);
      await triggers.delete({ name: trigger });
    },
    status(event) {
      if (core.listenerCount('feed:status') > 0) core.emit('feed:status', event);
    },
    warn(message) {
      process.emitWarning(message, 'EdgeWhiskWarning');
    },
  });

  for (const pkg of packages) {
    core.entities.putSystem('package', packageDoc(pkg));
    for (const feed of pkg.feeds) {
      const path = feedPath(pkg.name, feed.name);
      core.entities.putSystem('action', feedActionDoc(pkg, feed));
      core.registerBuiltin(path.slice(1), (params) =>
        service.lifecycle(path, params).then(
          (result): BuiltinOutcome => ({ result }),
          (error: unknown): BuiltinOutcome => {
            if (error instanceof FeedParameterError) return { error: error.message };
            if (isEdgeWhiskError(error) && error.statusCode < 500) return { error: error.message };
            throw error;
          },
        ),
      );
    }
  }
  return service;
}
