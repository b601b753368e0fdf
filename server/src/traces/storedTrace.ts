import type { RecTrace, TraceRuleEffect } from '@recsys/engine';
import type { BUNDLE_SURFACE, BundleInput, BundleResponse, Surface } from '@recsys/engine/protocol';
import type { EngineBundle, EngineList, ServeInput } from '../serve/EngineService';

/** The request header that asks for this list's trace to be stored whatever the sample rate. */
export const TRACE_HEADER = 'x-recsys-trace';

/**
 * The request as the server received it, without who sent it: the user and anonymous ids are
 * stored only as salted hashes (the trace's `userHash`/`anonymousHash`), the session id not at all.
 */
export interface TracedRequest {
  surface: Surface | typeof BUNDLE_SURFACE;
  placement?: string;
  k: number;
  explain: boolean;
  itemId?: string;
  /** Cart contents (`recs.cart`). */
  itemIds?: string[];
  category?: string;
  filters?: ServeInput['filters'];
  seed?: number;
  contextItemIds?: string[];
  traits?: Record<string, string>;
  overrides?: ServeInput['overrides'];
  /** Which identities the request carried (their values are not stored). */
  identity: {
    user: boolean;
    anonymous: boolean;
    session: boolean;
    /** False when a browser named a userId without a valid user token (served as the visitor). */
    userProven: boolean;
  };
}

/** A decision trace as stored and as `admin.traces.get` returns it. */
export interface StoredTrace {
  requestId: string;
  /** ISO-8601, when the list was stored. */
  createdAt: string;
  /** The placement when the request named one, else the surface. */
  surface: string;
  userHash: string | null;
  anonymousHash: string | null;
  configVersion: number | null;
  experiment: string | null;
  variant: string | null;
  /** The named rule set applied besides the base rules (the variant's `rules:<set>`), or null. */
  ruleSet: string | null;
  request: TracedRequest;
  /** Merchandising rules that matched and what each did. */
  rules: TraceRuleEffect[];
  /**
   * The engine's trace: signals, removals, final items with their score parts and reasons; null for
   * a bundle (see `bundle`).
   */
  engine: Omit<RecTrace, 'rules'> | null;
  /** A served bundle (`recs.bundle`): what was served and where it came from; null for lists. */
  bundle: BundleTrace | null;
}

/** A served bundle's provenance. */
export interface BundleTrace {
  anchorItemId: string;
  items: Array<Pick<BundleResponse['items'][number], 'itemId' | 'role' | 'score' | 'reason'>>;
  price: BundleResponse['price'];
  emptyReason?: BundleResponse['emptyReason'];
  /**
   * The bundle experiment variant's override as it was when the bundle was served (partners and
   * discount), or null: the computed bundle.
   */
  override: { partnerItemIds: string[]; discountPercent?: number } | null;
}

/** The `trace` column as stored (`ruleSet` absent: the base rules only). */
export type TraceBody = Pick<StoredTrace, 'request' | 'rules'> & {
  engine?: StoredTrace['engine'];
  bundle?: BundleTrace;
  ruleSet?: string;
};

/** What the served-list writer stores for a traced list, besides its `rec_logs` row. */
export interface TraceEntry {
  /** The `trace` column: request, rules, engine, and the rule set when one applied. */
  body: TraceBody;
  /** Shown, removed and rule-touched items (what a search by item finds). */
  itemIds: string[];
  ruleIds: string[];
  experiment: string | null;
  variant: string | null;
}

/**
 * Traces stored per second and namespace when the namespace sets no `traceSampleRate`: every list of
 * a small shop, a sample of a busy one. Encoding a trace costs about as much as ranking the list, so
 * tracing every list at 1,000 lists/s doubled the p99 of in-process serving and added ~500 MB of
 * buffered traces in the benchmark.
 */
export const DEFAULT_TRACES_PER_SECOND = 10;

/** Per namespace: a token bucket one second deep, refilled at DEFAULT_TRACES_PER_SECOND. */
const budgets = new Map<string, { tokens: number; at: number }>();

/**
 * Whether this list's trace is stored: always for `explain` or the header; else at the namespace's
 * `rate` when it sets one; else every list up to {@link DEFAULT_TRACES_PER_SECOND} per second.
 */
export function shouldTrace(
  rate: number | undefined,
  forced: boolean,
  namespaceId?: string,
  now = Date.now(),
): boolean {
  if (forced) return true;
  if (rate !== undefined) return rate >= 1 || (rate > 0 && Math.random() < rate);
  if (namespaceId === undefined) return true;
  let budget = budgets.get(namespaceId);
  if (budget === undefined) {
    budget = { tokens: DEFAULT_TRACES_PER_SECOND, at: now };
    budgets.set(namespaceId, budget);
  }
  const refill = (Math.max(0, now - budget.at) / 1000) * DEFAULT_TRACES_PER_SECOND;
  budget.tokens = Math.min(DEFAULT_TRACES_PER_SECOND, budget.tokens + refill);
  budget.at = now;
  if (budget.tokens < 1) return false;
  budget.tokens -= 1;
  return true;
}

/** The request's identity flags (which ids it carried, never their values). */
function identityOf(
  received: { userId?: string | undefined; anonymousId?: string | undefined; sessionId?: string | undefined },
  served: { userId?: string | undefined },
): TracedRequest['identity'] {
  return {
    user: received.userId !== undefined,
    anonymous: received.anonymousId !== undefined,
    session: received.sessionId !== undefined,
    userProven: received.userId === undefined || served.userId === received.userId,
  };
}

/**
 * The trace entry of a served bundle: the request, the items served with their reasons, and its
 * provenance (experiment and variant, and the variant's override as served).
 */
export function bundleTraceEntry(
  received: BundleInput,
  served: BundleInput,
  bundle: EngineBundle,
  experiment: { id: string; variant: string } | undefined,
  override: BundleTrace['override'],
): TraceEntry {
  const request: TracedRequest = {
    surface: 'bundle',
    k: received.maxItems ?? bundle.items.length,
    explain: false,
    itemId: received.itemId,
    identity: identityOf(received, served),
  };
  if (received.placement !== undefined) request.placement = received.placement;
  if (received.filters !== undefined) request.filters = received.filters;
  if (received.traits !== undefined) request.traits = received.traits;
  const trace: BundleTrace = {
    anchorItemId: bundle.anchorItemId,
    items: bundle.items.map(({ itemId, role, score, reason }) => ({ itemId, role, score, reason })),
    price: bundle.price,
    override,
  };
  if (bundle.emptyReason) trace.emptyReason = bundle.emptyReason;
  return {
    body: { request, rules: [], bundle: trace },
    itemIds: [
      ...new Set([
        bundle.anchorItemId,
        ...bundle.items.map((i) => i.itemId),
        ...(override?.partnerItemIds ?? []),
      ]),
    ],
    ruleIds: [],
    experiment: experiment?.id ?? null,
    variant: experiment?.variant ?? null,
  };
}

/**
 * The trace entry of a served list. Runs after the response is sent (the writer defers it), so its
 * copying costs the request nothing.
 */
export function traceEntry(
  surface: Surface,
  received: ServeInput,
  served: ServeInput,
  listed: EngineList,
): TraceEntry | undefined {
  const trace = listed.trace;
  if (!trace) return undefined;
  const request: TracedRequest = {
    surface,
    k: received.k,
    explain: received.explain,
    identity: identityOf(received, served),
  };
  if (received.placement !== undefined) request.placement = received.placement;
  if (received.itemId !== undefined) request.itemId = received.itemId;
  if (received.itemIds !== undefined) request.itemIds = received.itemIds;
  if (received.category !== undefined) request.category = received.category;
  if (received.filters !== undefined) request.filters = received.filters;
  if (received.seed !== undefined) request.seed = received.seed;
  if (received.contextItemIds !== undefined) request.contextItemIds = received.contextItemIds;
  if (received.traits !== undefined) request.traits = received.traits;
  if (received.overrides !== undefined) request.overrides = received.overrides;
  const { rules, ...engine } = trace;
  const itemIds = new Set<string>();
  for (const item of trace.items) itemIds.add(item.itemId);
  for (const removed of trace.removed) itemIds.add(removed.itemId);
  for (const rule of rules) for (const id of rule.itemIds) itemIds.add(id);
  const body: TraceBody = { request, rules, engine };
  if (listed.ruleSet !== undefined) body.ruleSet = listed.ruleSet;
  return {
    body,
    itemIds: [...itemIds],
    ruleIds: [...new Set(rules.map((r) => r.ruleId))],
    experiment: listed.experiment?.id ?? null,
    variant: listed.experiment?.variant ?? null,
  };
}
