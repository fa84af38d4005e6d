/**
 * An engine's proof of life on the Docker daemon, for the engines elsewhere (other hosts, other Node-RED
 * containers) that share the daemon: they cannot see its process, only the daemon. Container labels cannot change
 * after creation, so the lease is a small named volume (no image needed and no data: the local driver makes an
 * empty folder), made anew every third of its TTL, after which the older one is removed. Its `CreatedAt`, on the
 * daemon's clock, plus its TTL label is how long the engine has promised to be alive; readers compare that with the
 * daemon's clock too (`SystemTime`), so the hosts' clocks never matter. A clean close removes the lease; a crashed
 * engine's lease expires, and the sweep that removes the engine's last container removes the lease too.
 */
import type Dockerode from 'dockerode';
import { LABELS, ownerLabels, type Leases, type OwnerIdentity } from './ownership';

/** How long a lease lasts unless renewed: a third of it between renewals rides out a daemon that is slow for a while. */
export const LEASE_TTL_MS = 60_000;

export const LEASE_LABELS = Object.freeze({ lease: 'org.edgewhisk.lease', ttl: 'org.edgewhisk.lease-ttl' });

type Call = <T>(what: string, operation: Promise<T>) => Promise<T>;

export class OwnerLease {
  readonly #docker: Dockerode;
  readonly #call: Call;
  readonly #identity: OwnerIdentity;
  readonly #instance: string;
  readonly #ttl: number;
  /** This engine's lease volumes, oldest first: normally one, two while renewing, more while removals fail. */
  #held: string[] = [];
  #count = 0;
  #released = false;

  constructor(docker: Dockerode, call: Call, identity: OwnerIdentity, instance: string, ttl: number = LEASE_TTL_MS) {
    this.#docker = docker;
    this.#call = call;
    this.#identity = identity;
    this.#instance = instance;
    this.#ttl = ttl;
  }

  get ttl(): number {
    return this.#ttl;
  }

  /** Records a new lease, then removes the ones it supersedes. Rejects when the new one could not be made. */
  async renew(): Promise<void> {
    if (this.#released) return;
    const name = `edgewhisk-lease-${this.#identity.engine}-${++this.#count}`;
    await this.#call(
      'create lease',
      this.#docker.createVolume({
        Name: name,
        Labels: {
          [LEASE_LABELS.lease]: 'true',
          [LEASE_LABELS.ttl]: String(this.#ttl),
          // Who holds it, as on its containers: a sweep in the same pid namespace can see its process is gone.
          ...ownerLabels(this.#identity),
          [LABELS.instance]: this.#instance,
        },
      }),
    );
    this.#held.push(name);
    // Released while it was being made: it must not outlive the engine.
    await this.#remove(this.#released ? this.#held : this.#held.slice(0, -1));
  }

  /** Removes this engine's leases (a clean close): engines elsewhere may then take what it left for leftovers. */
  async release(): Promise<void> {
    this.#released = true;
    await this.#remove(this.#held);
  }

  async #remove(names: readonly string[]): Promise<void> {
    for (const name of [...names]) {
      try {
        await this.#call('remove lease', this.#docker.getVolume(name).remove());
      } catch (error) {
        // Kept for the next renewal unless it is gone already.
        if ((error as { statusCode?: number }).statusCode !== 404) continue;
      }
      this.#held = this.#held.filter((n) => n !== name);
    }
  }
}

interface Held {
  /** The end of the engine's latest lease (daemon clock, ms). */
  until: number;
  volumes: string[];
  /** The owner labels of its lease (ownership.ts). */
  labels: Readonly<Record<string, string>>;
}

/** The leases on the daemon, as of its clock when they were read. */
export class LeaseBook implements Leases {
  readonly #leases: ReadonlyMap<string, Held>;
  readonly #now: number;

  private constructor(leases: ReadonlyMap<string, Held>, now: number) {
    this.#leases = leases;
    this.#now = now;
  }

  /** What nobody could read: no lease is known to have expired, so nothing is removed on its account. */
  static readonly UNKNOWN = new LeaseBook(new Map(), Number.NEGATIVE_INFINITY);

  static async read(docker: Dockerode, call: Call): Promise<LeaseBook> {
    const info = (await call('info', docker.info())) as { SystemTime?: string };
    const now = Date.parse(info.SystemTime ?? '');
    if (!Number.isFinite(now)) return LeaseBook.UNKNOWN;
    const listed = await call('list leases', docker.listVolumes({ filters: JSON.stringify({ label: [`${LEASE_LABELS.lease}=true`] }) }));
    const leases = new Map<string, Held>();
    for (const volume of listed.Volumes ?? []) {
      const labels = volume.Labels ?? {};
      const engine = labels[LABELS.engine];
      if (engine === undefined) continue;
      const created = Date.parse((volume as { CreatedAt?: string }).CreatedAt ?? '');
      const ttl = Number(labels[LEASE_LABELS.ttl]);
      // A lease whose end cannot be read never expires: its engine may be alive.
      const until = Number.isFinite(created) && Number.isFinite(ttl) ? created + ttl : Number.POSITIVE_INFINITY;
      const entry = leases.get(engine) ?? { until: Number.NEGATIVE_INFINITY, volumes: [], labels };
      entry.until = Math.max(entry.until, until);
      entry.volumes.push(volume.Name);
      leases.set(engine, entry);
    }
    return new LeaseBook(leases, now);
  }

  expired(engine: string): boolean {
    const lease = this.#leases.get(engine);
    return lease !== undefined && lease.until < this.#now;
  }

  /** Every engine with a lease on record: its lease volumes and their owner labels. */
  engines(): { engine: string; volumes: readonly string[]; labels: Readonly<Record<string, string>> }[] {
    return [...this.#leases].map(([engine, lease]) => ({ engine, volumes: lease.volumes, labels: lease.labels }));
  }
}
