/**
 * The runtime behaviour suite (test/helpers/runtime-behaviour-suite.ts, also run for the worker and process
 * runtimes by test/unit/runtime-behaviour.test.ts) against the docker runtime: every action runs in a hardened
 * container of edgewhisk/action-nodejs:24 on the real daemon.
 */
import { beforeAll } from 'vitest';
import type { EngineConfig } from '../../src/index';
import { describeProxyExit } from '../helpers/proxy-exit-suite';
import { describeRuntimeBehaviour } from '../helpers/runtime-behaviour-suite';
import { requireDocker } from './docker-available';
import { dockerEngine, uniqueInstance } from './docker-engine';

beforeAll(async () => {
  await requireDocker({ images: true });
}, 600_000);

// One instance for the file: engines of one process may share it (their containers are named apart), and each
// engine's containers are gone when its test's close() resolves.
const instance = uniqueInstance('behaviour');
const makeEngine = (config: EngineConfig) => dockerEngine({ ...config, docker: { ...config.docker, instance } }).engine;
describeRuntimeBehaviour('docker', { docker: { enabled: true } }, makeEngine);
describeProxyExit('docker', { docker: { enabled: true } }, makeEngine);
