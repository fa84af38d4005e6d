/**
 * `engine.packages`: the `openwhisk` client's `ow.packages` (create/get/list/update/delete). A package groups actions
 * and gives them default parameters; a binding names another package and adds its own (apache/openwhisk docs/packages.md).
 */
import type { EntityContext } from '../engine-context';
import { refuseSystem } from '../entities/entity-store';
import { fqn, requireNoPackage } from '../entities/names';
import { annotation, type ActionDoc, type PackageDoc } from '../entities/types';
import { ewError } from '../errors';
import { entityFields, type EntityWriteOptions } from './entity-fields';
import { listWindow, type ListOptions } from './list-options';
import { pickName } from './pick-name';
import { entityViewFields, type PackageView } from '../entities/views';

export interface PackageOptions extends EntityWriteOptions {
  readonly packageName?: string;
  /** An OpenWhisk package body `{parameters, annotations, binding, publish, version}`, as the client passes it. */
  readonly package?: Record<string, unknown>;
  /** With `delete`: also delete the actions inside. */
  readonly force?: boolean;
}

export class PackagesApi {
  readonly #core: EntityContext;

  constructor(core: EntityContext) {
    this.#core = core;
  }

  #name(options: unknown) {
    return requireNoPackage(this.#core.name(pickName(options, 'packageName')), 'package');
  }

  #view(doc: PackageDoc): PackageView {
    const prefix = `${doc.namespace}/${doc.name}`;
    const summary = (a: ActionDoc) => ({ name: a.name, version: a.version, annotations: a.annotations.map((x) => ({ ...x })) });
    const inside = this.#core.entities.list('action', prefix, true);
    // As OpenWhisk lists a package: actions annotated `feed` are its feeds.
    const isFeed = (a: ActionDoc): boolean => annotation(a.annotations, 'feed') !== undefined && annotation(a.annotations, 'feed') !== false;
    return {
      ...entityViewFields(doc),
      parameters: doc.parameters.map((p) => ({ ...p })),
      binding: doc.binding === undefined ? {} : { ...doc.binding },
      actions: inside.filter((a) => !isFeed(a)).map(summary),
      feeds: inside.filter(isFeed).map(summary),
    };
  }

  async list(options: ListOptions & { public?: boolean } = {}): Promise<PackageView[]> {
    const { skip, limit } = listWindow(options, 'packages');
    const namespace = options.namespace === undefined || options.namespace === '_' ? this.#core.options.namespace : options.namespace;
    return this.#core.entities
      .list('package', namespace, true)
      .filter((p) => options.public !== true || p.publish)
      .slice(skip, skip + limit)
      .map((p) => this.#view(p));
  }

  async get(options: PackageOptions | string): Promise<PackageView> {
    return this.#view(this.#core.entities.get('package', this.#name(options)));
  }

  async create(options: PackageOptions | string): Promise<PackageView> {
    const o = typeof options === 'string' ? { name: options } : options;
    return this.#view(this.#put(o, o.overwrite === true));
  }

  async update(options: PackageOptions): Promise<PackageView> {
    return this.#view(this.#put(options, true));
  }

  async delete(options: PackageOptions | string): Promise<PackageView> {
    const o = typeof options === 'string' ? { name: options } : options;
    const q = refuseSystem(this.#name(o));
    const doc = this.#core.entities.get('package', q);
    const view = this.#view(doc);
    const inside = this.#core.entities.list('action', `${q.namespace}/${q.name}`, true);
    if (inside.length > 0 && o.force !== true) throw ewError('EW_PACKAGE_NOT_EMPTY', [inside.length]);
    for (const action of inside) this.#core.entities.delete('action', action);
    this.#core.entities.delete('package', q);
    return view;
  }

  #put(o: PackageOptions, overwrite: boolean): PackageDoc {
    const core = this.#core;
    const q = refuseSystem(this.#name(o));
    const existing = core.entities.find('package', q);
    if (existing !== undefined && !overwrite) throw ewError('EW_ENTITY_EXISTS', [], { name: fqn(q) });
    const body = o.package ?? {};
    let binding = existing?.binding;
    const given = body['binding'] as { namespace?: unknown; name?: unknown } | undefined;
    if (given !== undefined && given !== null && typeof given === 'object' && typeof given.name === 'string' && given.name !== '') {
      const target = { namespace: typeof given.namespace === 'string' && given.namespace !== '_' ? given.namespace : core.options.namespace, name: given.name };
      let bound: PackageDoc | undefined;
      try {
        bound = core.entities.find('package', target);
      } catch {
        throw ewError('EW_BINDING_NOT_PACKAGE', []);
      }
      if (bound === undefined) throw ewError('EW_BINDING_MISSING', []);
      if (bound.binding !== undefined) throw ewError('EW_BINDING_TO_BINDING', []);
      binding = target;
    }
    const doc: PackageDoc = {
      namespace: q.namespace,
      name: q.name,
      ...entityFields(body, o, existing, core.options.parametersLimit),
      ...(binding === undefined ? {} : { binding }),
    };
    core.entities.put('package', doc);
    return doc;
  }
}
