import { describeRuntimeBehaviour } from '../helpers/runtime-behaviour-suite';

/**
 * The same behaviour is required of every runtime that runs Node.js actions: here the worker runtime (threads) and
 * the process runtime (child processes running the action proxy); test/docker/runtime-behaviour.test.ts runs the
 * same cases (test/helpers/runtime-behaviour-suite.ts) against the docker runtime.
 */
describeRuntimeBehaviour('worker');
describeRuntimeBehaviour('process');
