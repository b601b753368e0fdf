import { createHmac } from 'node:crypto';
import type { BUNDLE_SURFACE, Surface } from '@recsys/engine/protocol';
import { and, asc, eq } from 'drizzle-orm';
import { LRUCache } from 'lru-cache';
import type { Database } from '../db/client';
import { aliases, items } from '../db/schema';
import type { Logger } from '../obs/logger';
import type { ExperimentTarget } from './contracts';
import { type Experiment, listRunningExperiments, type StoredVariant } from './store';

/** The experiment and variant a list is served under; returned with the list and logged with it. */
export interface ExperimentAssignment {
  id: string;
  variant: string;
}

/** An assignment and what it changes about the list. */
export interface AssignedTreatment extends ExperimentAssignment {
  treatment: StoredVariant;
}

/** What assignment reads from a request. */
export interface AssignmentRequest {
  userId?: string | undefined;
  anonymousId?: string | undefined;
  placement?: string | undefined;
  traits?: Record<string, string> | undefined;
  /** The product page's item (`recs.bundle`, `recs.similar`), for `target.anchorItemIds`. */
  itemId?: string | undefined;
  /**
   * The categories of `itemId` (names, without `category:`), for `target.anchorCategories`; the
   * assigner reads them from the catalog when a running experiment needs them.
   */
  anchorCategories?: readonly string[] | undefined;
}

/** Where a request is assigned: a list's surface, or `bundle` (`recs.bundle`). */
export type AssignedSurface = Surface | typeof BUNDLE_SURFACE;

/** Whether an experiment compares bundles (it runs on `recs.bundle` only, and only there). */
export function isBundleExperiment(experiment: Pick<Experiment, 'variants'>): boolean {
  return experiment.variants.some((v) => v.kind === 'bundle');
}

/**
 * Two uniform numbers in [0, 1) from an HMAC-SHA-256 of the unit keyed by the experiment's salt: the
 * first decides whether the unit is in the experiment's traffic, the second its variant. Keyed by the
 * salt, so each experiment splits the same visitors independently of every other one.
 */
export function assignmentDraws(salt: string, unit: string): [number, number] {
  const digest = createHmac('sha256', salt).update(unit).digest();
  // 48 bits each: exact in a double.
  return [digest.readUIntBE(0, 6) / 2 ** 48, digest.readUIntBE(6, 6) / 2 ** 48];
}

/** The variant a unit gets, or null when it falls outside the experiment's traffic. */
export function assignVariant(
  experiment: Pick<Experiment, 'salt' | 'traffic' | 'variants'>,
  unit: string,
): StoredVariant | null {
  const [inTraffic, pick] = assignmentDraws(experiment.salt, unit);
  if (inTraffic >= experiment.traffic) return null;
  const total = experiment.variants.reduce((s, v) => s + v.weight, 0);
  let edge = 0;
  for (const v of experiment.variants) {
    edge += v.weight / total;
    if (pick < edge) return v;
  }
  return experiment.variants.at(-1) ?? null;
}

/** Whether a request on `surface` falls in the experiment's target. */
export function matchesTarget(
  target: ExperimentTarget,
  surface: AssignedSurface,
  request: AssignmentRequest,
): boolean {
  if (target.surfaces && !(target.surfaces as string[]).includes(surface)) return false;
  if (target.anchorItemIds || target.anchorCategories) {
    const byId = Boolean(request.itemId && target.anchorItemIds?.includes(request.itemId));
    const byCategory = Boolean(request.anchorCategories?.some((c) => target.anchorCategories?.includes(c)));
    if (!byId && !byCategory) return false;
  }
  if (target.placements && !(request.placement && target.placements.includes(request.placement)))
    return false;
  const segment = request.traits?.segment;
  if (target.segments && !(segment && target.segments.includes(segment))) return false;
  const country = request.traits?.country?.toUpperCase();
  if (target.countries && !(country && target.countries.some((c) => c.toUpperCase() === country)))
    return false;
  return true;
}

/** Options of {@link ExperimentAssigner}. */
export interface ExperimentAssignerOptions {
  /**
   * How long a namespace's running experiments are kept before they are read again, ms: how soon a
   * start, pause or completion made through another process takes effect here (this process's own
   * are at once).
   * @default 5_000
   */
  refreshMs?: number;
  /** Visitors whose assignment unit is remembered. @default 100_000 */
  maxUnits?: number;
}

interface Cached {
  at: number;
  experiments: Experiment[];
  loading?: Promise<Experiment[]> | undefined;
}

/**
 * Assigns every recommendation request to at most one running experiment and variant, on the server.
 *
 * The unit is the visitor, identified so that an anonymous visitor keeps their variant after logging
 * in: a user id is assigned through the first anonymous id aliased to it, and an anonymous id
 * already linked to a user through that user. Requests without any id are never assigned.
 * When several running experiments target the same request, the one started first takes it.
 */
export class ExperimentAssigner {
  private readonly byNamespace = new Map<string, Cached>();
  private readonly units: LRUCache<string, string>;
  private readonly categories = new LRUCache<string, string[]>({ max: 50_000, ttl: 60_000 });

  constructor(
    private readonly database: Database,
    private readonly log: Logger,
    private readonly options: ExperimentAssignerOptions = {},
  ) {
    this.units = new LRUCache({ max: options.maxUnits ?? 100_000, ttl: 60_000 });
  }

  /** Reads the namespace's running experiments again on the next request (this process changed them). */
  invalidate(namespaceId: string): void {
    this.byNamespace.delete(namespaceId);
  }

  /** The assignment of one request, or null (no running experiment targets it, or it is outside the traffic). */
  async assign(
    namespaceId: string,
    surface: AssignedSurface,
    request: AssignmentRequest,
  ): Promise<AssignedTreatment | null> {
    if (!request.userId && !request.anonymousId) return null;
    const running = await this.running(namespaceId);
    if (running.length === 0) return null;
    let unit: string | undefined;
    let asked = request;
    for (const experiment of running) {
      if (isBundleExperiment(experiment) !== (surface === 'bundle')) continue;
      if (experiment.target.anchorCategories && asked.itemId && asked.anchorCategories === undefined) {
        asked = { ...asked, anchorCategories: await this.categoriesOf(namespaceId, asked.itemId) };
      }
      if (!matchesTarget(experiment.target, surface, asked)) continue;
      unit ??= await this.unitOf(namespaceId, request);
      const variant = assignVariant(experiment, unit);
      if (variant) return { id: experiment.id, variant: variant.key, treatment: variant };
    }
    return null;
  }

  private async running(namespaceId: string): Promise<Experiment[]> {
    const now = Date.now();
    let cached = this.byNamespace.get(namespaceId);
    if (!cached) {
      const experiments = await listRunningExperiments(this.database, namespaceId);
      cached = { at: now, experiments };
      this.byNamespace.set(namespaceId, cached);
      return experiments;
    }
    if (now - cached.at > (this.options.refreshMs ?? 5_000) && !cached.loading) {
      // Stale: answer with what is known and read again in the background, off the request's path.
      const entry = cached;
      entry.loading = listRunningExperiments(this.database, namespaceId)
        .then((experiments) => {
          entry.experiments = experiments;
          entry.at = Date.now();
          return experiments;
        })
        .catch((error: unknown) => {
          this.log.warn(
            { err: error, namespaceId },
            'reading running experiments failed; kept the last list',
          );
          return entry.experiments;
        })
        .finally(() => {
          entry.loading = undefined;
        });
    }
    return cached.experiments;
  }

  /**
   * The category names of an item (its `category:` tags), read once a minute at most: only requests
   * that a running category-targeted experiment could take ask.
   */
  private async categoriesOf(namespaceId: string, itemId: string): Promise<string[]> {
    const cacheKey = `${namespaceId}\u0000${itemId}`;
    const hit = this.categories.get(cacheKey);
    if (hit !== undefined) return hit;
    const [row] = await this.database.db
      .select({ tags: items.tags })
      .from(items)
      .where(and(eq(items.namespaceId, namespaceId), eq(items.itemId, itemId)));
    const names = (row?.tags ?? []).filter((t) => t.startsWith('category:')).map((t) => t.slice(9));
    this.categories.set(cacheKey, names);
    return names;
  }

  /** The stable identity a visitor is assigned by (see the class comment). */
  private async unitOf(namespaceId: string, request: AssignmentRequest): Promise<string> {
    const cacheKey = `${namespaceId}\u0000${request.userId ?? ''}\u0000${request.anonymousId ?? ''}`;
    const hit = this.units.get(cacheKey);
    if (hit !== undefined) return hit;
    let userId = request.userId;
    if (!userId && request.anonymousId) {
      const [linked] = await this.database.db
        .select({ userId: aliases.userId })
        .from(aliases)
        .where(and(eq(aliases.namespaceId, namespaceId), eq(aliases.anonymousId, request.anonymousId)));
      userId = linked?.userId;
    }
    let unit: string;
    if (userId) {
      const [first] = await this.database.db
        .select({ anonymousId: aliases.anonymousId })
        .from(aliases)
        .where(and(eq(aliases.namespaceId, namespaceId), eq(aliases.userId, userId)))
        .orderBy(asc(aliases.createdAt), asc(aliases.anonymousId))
        .limit(1);
      const anonymousId = first?.anonymousId ?? request.anonymousId;
      unit = anonymousId ? `a:${anonymousId}` : `u:${userId}`;
    } else {
      unit = `a:${request.anonymousId}`;
    }
    this.units.set(cacheKey, unit);
    return unit;
  }
}
