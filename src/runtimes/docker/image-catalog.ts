/**
 * Which images are on the daemon, pulled by the pull policy, and how each one can be spoken to: EdgeWhisk's own
 * images (label `org.edgewhisk.transport=unix`) over a Unix socket, anything else over TCP 8080 like a stock
 * OpenWhisk runtime image. (The runtime uses the socket only for images its configuration names.) Inspections are cached; a create that reports the image gone clears the cache entry.
 */
import type Dockerode from 'dockerode';
import type { PullProgress } from '../runtime';
import type { PullPolicy } from './docker-options';
import { buildCommand, IMAGE_LABELS, imageKindOf, notBuilt } from './image-contract';

export interface ImageInfo {
  readonly id: string;
  readonly transport: 'unix' | 'tcp';
  readonly labels: Readonly<Record<string, string>>;
}

type Call = <T>(what: string, operation: Promise<T>, deadline?: number | null) => Promise<T>;

export interface ImageCatalogConfig {
  readonly docker: Dockerode;
  readonly policy: PullPolicy;
  /** A pull silent for this long (ms) is abandoned. */
  readonly pullIdleTimeout: number;
  /** Runs a Docker API call under the runtime's deadline and error wording. */
  readonly call: Call;
  readonly onProgress: (progress: PullProgress) => void;
  readonly onWarning: (message: string) => void;
}

export class ImageCatalog {
  readonly #docker: Dockerode;
  readonly #policy: PullPolicy;
  readonly #pullIdleTimeout: number;
  readonly #call: Call;
  readonly #onProgress: (progress: PullProgress) => void;
  readonly #onWarning: (message: string) => void;
  readonly #known = new Map<string, Promise<ImageInfo>>();
  readonly #pulling = new Map<string, Promise<void>>();

  constructor(config: ImageCatalogConfig) {
    this.#docker = config.docker;
    this.#policy = config.policy;
    this.#pullIdleTimeout = config.pullIdleTimeout;
    this.#call = config.call;
    this.#onProgress = config.onProgress;
    this.#onWarning = config.onWarning;
  }

  /** The image, present on the daemon (pulled if the policy says so); rejects with a message for the user. */
  resolve(image: string): Promise<ImageInfo> {
    if (this.#policy === 'always') return this.#pullThenInspect(image);
    let known = this.#known.get(image);
    if (known === undefined) {
      known = this.#inspectOrPull(image);
      this.#known.set(image, known);
      // A failure is not remembered: the image may be built or the registry reachable on the next try.
      known.catch(() => this.#known.delete(image));
    }
    return known;
  }

  /** Forgets what is known of `image` (a create found it missing). */
  forget(image: string): void {
    this.#known.delete(image);
  }

  async #inspect(image: string): Promise<ImageInfo | undefined> {
    try {
      const info = await this.#call(`inspect image ${image}`, this.#docker.getImage(image).inspect());
      const labels = info.Config?.Labels ?? {};
      return { id: info.Id, transport: labels[IMAGE_LABELS.transport] === 'unix' ? 'unix' : 'tcp', labels };
    } catch (error) {
      if ((error as { statusCode?: number }).statusCode === 404) return undefined;
      throw error;
    }
  }

  async #inspectOrPull(image: string): Promise<ImageInfo> {
    const present = await this.#inspect(image);
    if (present !== undefined) return present;
    if (this.#policy === 'never') {
      throw new Error(`Docker image ${image} is not on the daemon and the pull policy is 'never'${hint(image)}`);
    }
    try {
      await this.#pull(image);
    } catch (error) {
      throw missing(image, error);
    }
    const pulled = await this.#inspect(image);
    if (pulled === undefined) throw new Error(`Docker image ${image} was pulled but cannot be found`);
    return pulled;
  }

  async #pullThenInspect(image: string): Promise<ImageInfo> {
    let pullError: unknown;
    try {
      await this.#pull(image);
    } catch (error) {
      pullError = error;
    }
    const present = await this.#inspect(image);
    if (present !== undefined) {
      // As OpenWhisk does, the copy on the daemon serves; but whoever chose 'always' must learn it is not fresh.
      if (pullError !== undefined) this.#onWarning(`Could not pull ${image} (pull policy 'always'): ${dockerMessage(pullError)}; using the copy already on the daemon`);
      return present;
    }
    throw pullError === undefined ? new Error(`Docker image ${image} cannot be found`) : missing(image, pullError);
  }

  /** One pull of an image at a time: cold starts that need it while it runs (under `always`) share it. */
  #pull(image: string): Promise<void> {
    let pulling = this.#pulling.get(image);
    if (pulling === undefined) {
      pulling = this.#pullOnce(image).finally(() => this.#pulling.delete(image));
      this.#pulling.set(image, pulling);
    }
    return pulling;
  }

  /**
   * Pulls `image`, reporting progress. No deadline bounds the whole pull (a large image on a slow link takes what it
   * takes), but one that reports nothing for `pullIdleTimeout` is given up: a registry that stalls mid-layer would
   * otherwise hold every cold start of the image forever. Docker has no way to cancel a pull: dropping the stream
   * only stops the wait, and the daemon may keep its stalled downloads open.
   */
  async #pullOnce(image: string): Promise<void> {
    const idle = this.#pullIdleTimeout;
    const layers = new Map<string, { current: number; total: number }>();
    try {
      await new Promise<void>((resolve, reject) => {
        let stream: NodeJS.ReadableStream | undefined;
        let timer: NodeJS.Timeout | undefined;
        let settled = false;
        const drop = (): void => (stream as { destroy?: () => void } | undefined)?.destroy?.();
        const settle = (error?: Error): void => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          if (error === undefined) resolve();
          else reject(error);
        };
        const arm = (): void => {
          clearTimeout(timer);
          timer = setTimeout(() => {
            drop();
            settle(new Error(`the pull made no progress for ${idle} ms (docker.pullIdleTimeout)`));
          }, idle);
        };
        arm();
        // No call deadline: the idle timer covers the wait for the stream too.
        this.#call(`pull ${image}`, this.#docker.pull(image) as Promise<NodeJS.ReadableStream>, null).then((opened) => {
          stream = opened;
          if (settled) return drop();
          this.#docker.modem.followProgress(
            opened,
            (error: Error | null, output: { error?: string }[]) => {
              const failed = output?.find((o) => typeof o.error === 'string');
              if (error !== null) settle(error);
              else if (failed !== undefined) settle(new Error(failed.error));
              else settle();
            },
            (event: { id?: string; status?: string; progressDetail?: { current?: number; total?: number } }) => {
              if (settled) return;
              arm();
              this.#onProgress({ image, status: event.status ?? '', ...downloaded(layers, event) });
            },
          );
        }, settle);
      });
    } catch (error) {
      throw new Error(dockerMessage(error));
    }
  }
}

/**
 * Download progress over all layers, updated by `event`: extraction reuses the layer ids with its own counts, and a
 * finished layer often gets no last `Downloading` update, so only these states move the figures.
 */
function downloaded(
  layers: Map<string, { current: number; total: number }>,
  event: { id?: string; status?: string; progressDetail?: { current?: number; total?: number } },
): { current?: number; total?: number } {
  const layer = event.id === undefined ? undefined : layers.get(event.id);
  const detail = event.progressDetail;
  if (event.status === 'Downloading' && event.id !== undefined && detail?.total !== undefined) {
    layers.set(event.id, { current: detail.current ?? 0, total: detail.total });
  } else if (layer !== undefined && (event.status === 'Download complete' || event.status === 'Pull complete')) {
    layer.current = layer.total;
  }
  let current = 0;
  let total = 0;
  for (const l of layers.values()) {
    current += l.current;
    total += l.total;
  }
  return total > 0 ? { current, total } : {};
}

function missing(image: string, pullError: unknown): Error {
  return new Error(`Docker image ${image} is not on the daemon and could not be pulled: ${dockerMessage(pullError)}${hint(image)}`);
}

/** What the daemon said (its JSON `message`), else the error's own message. */
export function dockerMessage(error: unknown): string {
  const json = (error as { json?: { message?: unknown } }).json;
  if (typeof json?.message === 'string') return json.message.trim();
  return (error instanceof Error ? error.message : String(error)).trim();
}

/** How to build a missing EdgeWhisk image: for one of its own tags, the command for exactly that image. */
function hint(image: string): string {
  const kind = imageKindOf(image);
  if (kind !== undefined) {
    const online = buildCommand(kind, false);
    const offline = buildCommand(kind, true);
    return online === undefined || offline === undefined ? `. ${notBuilt(kind)}` : `. Build it with \`${online}\`, or where no registry is reachable \`${offline}\``;
  }
  return image.startsWith('edgewhisk/') ? '. Build EdgeWhisk\'s images with `npx edgewhisk build-images` (add `--offline` where no registry is reachable)' : '';
}
