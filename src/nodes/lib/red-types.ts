/**
 * The slice of Node-RED's runtime API the nodes use, typed here because `@types/node-red` lags the runtime.
 * This folder is the only place in `src/` that knows Node-RED exists.
 */

export interface NodeMessage {
  [key: string]: unknown;
  _msgid?: string;
  payload?: unknown;
  topic?: string;
}

export interface NodeStatus {
  fill?: 'red' | 'green' | 'yellow' | 'blue' | 'grey';
  shape?: 'ring' | 'dot';
  text?: string;
}

export interface ContextStore {
  get(key: string): unknown;
  set(key: string, value: unknown): void;
}

export interface NodeContext extends ContextStore {
  flow: ContextStore;
  global: ContextStore;
}

export type SendFn = (msg: NodeMessage | (NodeMessage | null)[]) => void;
export type DoneFn = (err?: Error) => void;

export interface Node {
  readonly id: string;
  readonly type: string;
  readonly z?: string;
  name?: string;
  on(event: 'input', listener: (msg: NodeMessage, send: SendFn, done: DoneFn) => void): void;
  on(event: 'close', listener: (removed: boolean, done: () => void) => void): void;
  send(msg: NodeMessage | (NodeMessage | null)[]): void;
  status(status: NodeStatus): void;
  log(msg: unknown): void;
  warn(msg: unknown): void;
  error(err: unknown, msg?: NodeMessage): void;
  context(): NodeContext;
}

export interface NodeDef {
  id: string;
  type: string;
  name?: string;
  z?: string;
  [key: string]: unknown;
}

export interface RedApi {
  nodes: {
    createNode(node: object, def: NodeDef): void;
    registerType(type: string, ctor: new (def: NodeDef) => unknown, options?: { settings?: Record<string, unknown>; credentials?: Record<string, unknown> }): void;
    getNode(id: string): unknown;
  };
  util: {
    getSetting(node: Node | undefined, name: string): unknown;
    cloneMessage<T>(msg: T): T;
  };
  settings: Record<string, unknown>;
  /** Node-RED's HTTP-in app (an Express app), present when Node-RED serves HTTP nodes. */
  httpNode?: { use(path: string, handler: (req: unknown, res: unknown, next: () => void) => void): unknown };
  /** Node-RED's editor API app (an Express app), absent when the editor is disabled. */
  httpAdmin?: AdminApp;
  auth?: { needsPermission(permission: string): AdminHandler };
  /** The editor's websocket: what the debug sidebar is pushed through. */
  comms?: { publish(topic: string, data: unknown, retain?: boolean): void };
  events?: { on(event: string, listener: (...args: unknown[]) => void): void; removeListener(event: string, listener: (...args: unknown[]) => void): void };
  log: { warn(msg: unknown): void; info(msg: unknown): void; error(msg: unknown): void };
  _?: (key: string, subs?: Record<string, unknown>) => string;
}

/** The slice of Express the admin routes use. */
export interface AdminRequest {
  readonly params: Record<string, string>;
  readonly query: Record<string, unknown>;
  readonly body: unknown;
}

export interface AdminResponse {
  status(code: number): AdminResponse;
  json(body: unknown): void;
}

export type AdminHandler = (req: AdminRequest, res: AdminResponse, next: (error?: unknown) => void) => void;

export interface AdminApp {
  get(path: string, ...handlers: AdminHandler[]): unknown;
  post(path: string, ...handlers: AdminHandler[]): unknown;
  delete(path: string, ...handlers: AdminHandler[]): unknown;
}
