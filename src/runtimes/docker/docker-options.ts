/**
 * The Docker runtime's options. Their defaults live in the engine's one `DEFAULTS` object (`DEFAULTS.docker`);
 * this module holds their type and validator.
 *
 * The hardening fields can be relaxed per engine, never silently: every relaxation is announced as a warning when
 * the runtime first reaches the daemon (`runtime:warning`).
 */

export type PullPolicy = 'never' | 'if-missing' | 'always';
export type Sandbox = 'runc' | 'runsc' | 'auto';

export interface DockerOptions {
  /** Registers the `docker` runtime (it is also registered when it is the `defaultRuntime`). @default false */
  readonly enabled: boolean;
  /** Docker Engine address: a socket path, `unix://…` or `tcp://host:port`; '' = `DOCKER_HOST`, else /var/run/docker.sock. @default '' */
  readonly host: string;
  /** When images are pulled: `never`, `if-missing`, or `always` (before every cold start; a local copy is used if the pull fails). @default 'if-missing' */
  readonly pull: PullPolicy;
  /** Kind → image: its keys, and `blackbox` (whose actions name their image), are the kinds the runtime runs. EdgeWhisk's own images by default, one per supported Node.js major. @default {"nodejs:22":"edgewhisk/action-nodejs:22","nodejs:24":"edgewhisk/action-nodejs:24","python:3":"edgewhisk/action-python:3"} */
  readonly images: Readonly<Record<string, string>>;
  /** Names this engine's containers (label `org.edgewhisk.instance`). Engines sharing a daemon and an instance never remove each other's live containers: leftovers are told by owner and lease. @default 'edgewhisk' */
  readonly instance: string;
  /** Network for actions without an `edgewhisk-network` annotation: `none`, `bridge` or a network name. Images that only speak TCP need one that can publish a port. @default 'none' */
  readonly network: string;
  /** The user actions run as (`Config.User`); root is refused unless `allowRoot` is set. @default '65534:65534' */
  readonly user: string;
  /** Lets `user` be root (uid 0). @default false */
  readonly allowRoot: boolean;
  /** Read-only root filesystem; `/tmp` is a tmpfs of `tmpSize` MB. @default true */
  readonly readOnlyRootfs: boolean;
  /** Size of the tmpfs at `/tmp` in MB (archives unpack there; it counts against the container's memory). @default 64 */
  readonly tmpSize: number;
  /** Processes and threads a container may hold (`PidsLimit`). @default 256 */
  readonly pidsLimit: number;
  /** Open files per process (`nofile` ulimit, soft = hard). @default 1024 */
  readonly nofile: number;
  /** CPUs one container may use at most (`NanoCpus`); 0 = no cap. CPU shares are always proportional to memory. @default 1 */
  readonly cpus: number;
  /** Capabilities given back after dropping all of them (none by default). @default [] */
  readonly capAdd: readonly string[];
  /** OCI runtime: `runc`, `runsc` (gVisor; refused when the daemon does not report it), or `auto` (runsc when reported). @default 'runc' */
  readonly sandbox: Sandbox;
  /** Longest a container may take from create to listening, in ms. @default 30000 */
  readonly startTimeout: number;
  /** Longest any other Docker API call may take, in ms; a slower daemon fails that invocation. @default 15000 */
  readonly apiTimeout: number;
  /** A pull that reports no progress for this long, in ms, is abandoned: the cold start fails (under `always`, the local copy serves). A slow pull that keeps moving is never cut. @default 60000 */
  readonly pullIdleTimeout: number;
  /** Where per-container socket directories are made; '' = the system temp folder. Must be a path the daemon sees. @default '' */
  readonly socketDir: string;
}

export type DockerOptionsInput = Partial<DockerOptions>;

function fail(key: string, expected: string, value: unknown): never {
  throw new TypeError(`Expected \`docker.${key}\` to be ${expected}, got \`${typeof value === 'string' ? JSON.stringify(value) : String(value)}\``);
}

const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$/;

/** Merges `input` over `defaults` and validates every field; a bad one throws a `TypeError` naming it. */
export function resolveDockerOptions(defaults: DockerOptions, input: unknown): DockerOptions {
  if (input === undefined) return defaults;
  if (typeof input !== 'object' || input === null || Array.isArray(input)) fail('', 'an object', input);
  for (const key of Object.keys(input)) {
    if (!(key in defaults)) throw new TypeError(`Unknown Docker option \`docker.${key}\``);
  }
  // `images` is merged over the default images, so naming one kind's image keeps the other kinds.
  const given = input as DockerOptionsInput;
  const images = given.images === undefined || typeof given.images !== 'object' || given.images === null ? given.images : { ...defaults.images, ...given.images };
  const o: DockerOptions = { ...defaults, ...given, ...(images === undefined ? {} : { images }) } as DockerOptions;
  for (const key of ['enabled', 'allowRoot', 'readOnlyRootfs'] as const) if (typeof o[key] !== 'boolean') fail(key, 'a boolean', o[key]);
  for (const key of ['host', 'socketDir'] as const) if (typeof o[key] !== 'string') fail(key, 'a string', o[key]);
  if (o.host !== '' && !/^(\/\S+|unix:\/\/\/\S+|(tcp|http|https):\/\/[^\s/:]+(:\d{1,5})?\/?)$/.test(o.host)) {
    fail('host', "'' (DOCKER_HOST or the default socket), a socket path, unix:///path or tcp://host:port", o.host);
  }
  if (!['never', 'if-missing', 'always'].includes(o.pull)) fail('pull', "one of 'never', 'if-missing', 'always'", o.pull);
  if (!['runc', 'runsc', 'auto'].includes(o.sandbox)) fail('sandbox', "one of 'runc', 'runsc', 'auto'", o.sandbox);
  if (typeof o.instance !== 'string' || !NAME.test(o.instance)) fail('instance', 'a name of letters, digits, _ . - (at most 63)', o.instance);
  if (typeof o.network !== 'string' || o.network === '' || o.network === 'host' || o.network.startsWith('container:')) {
    fail('network', "`none`, `bridge` or a network name (never `host` or another container's)", o.network);
  }
  if (typeof o.user !== 'string' || !/^[a-zA-Z0-9_.-]+(:[a-zA-Z0-9_.-]+)?$/.test(o.user)) fail('user', 'a user or uid[:gid]', o.user);
  if (!o.allowRoot && /^(0|root)(:|$)/.test(o.user)) fail('user', 'a non-root user (set `docker.allowRoot` to run actions as root)', o.user);
  for (const key of ['tmpSize', 'pidsLimit', 'nofile', 'startTimeout', 'apiTimeout', 'pullIdleTimeout'] as const) {
    if (!Number.isInteger(o[key]) || o[key] < 1) fail(key, 'a positive integer', o[key]);
  }
  if (typeof o.cpus !== 'number' || !Number.isFinite(o.cpus) || o.cpus < 0) fail('cpus', 'a non-negative number', o.cpus);
  if (!Array.isArray(o.capAdd) || o.capAdd.some((c) => typeof c !== 'string' || !/^[A-Z_]+$/.test(c))) fail('capAdd', 'an array of capability names', o.capAdd);
  if (o.capAdd.some((c) => c === 'ALL' || c === 'SYS_ADMIN')) fail('capAdd', 'capabilities short of ALL and SYS_ADMIN', o.capAdd);
  if (typeof o.images !== 'object' || o.images === null || Array.isArray(o.images) || Object.values(o.images).some((v) => typeof v !== 'string' || v === '' || /\s/.test(v))) {
    fail('images', 'an object of kind → image name', o.images);
  }
  for (const kind of Object.keys(o.images)) {
    if (!/^[a-z][a-z0-9]*:[a-z0-9.]+$/.test(kind) || kind.endsWith(':default')) fail('images', `kinds such as 'nodejs:24' as keys, not '${kind}'`, o.images);
  }
  return Object.freeze({ ...o, images: Object.freeze({ ...o.images }), capAdd: Object.freeze([...o.capAdd]) });
}

/** The ways `options` is weaker than the defaults, for the warning the runtime gives when it starts. */
export function relaxations(options: DockerOptions, defaults: DockerOptions): string[] {
  const out: string[] = [];
  if (options.allowRoot && /^(0|root)(:|$)/.test(options.user)) out.push(`actions run as root (user ${options.user})`);
  if (!options.readOnlyRootfs) out.push('the root filesystem is writable');
  if (options.capAdd.length > 0) out.push(`capabilities added back: ${options.capAdd.join(', ')}`);
  if (options.pidsLimit > defaults.pidsLimit) out.push(`pids limit raised to ${options.pidsLimit}`);
  if (options.nofile > defaults.nofile) out.push(`nofile raised to ${options.nofile}`);
  if (options.cpus === 0) out.push('no CPU cap per container');
  if (options.network !== 'none') out.push(`actions without an edgewhisk-network annotation get network '${options.network}'`);
  return out;
}
