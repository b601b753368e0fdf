import { createEngine, type EngineEvent } from '@recsys/engine';
import { createRng, generate } from '@recsys/fixtures';
import {
  type Database,
  getNamespace,
  ingestEvents,
  recordServedBundles,
  type ServedBundleRecord,
} from '../../index';
import { fixtureEventToEngine, fixtureItemToEngine } from '../eval/fixtureEvents';
import { seedNamespace } from '../simulate/seed';

/** Options of {@link seedBundlesQa}. */
export interface SeedQaOptions {
  /**
   * Generator seed: the same seed gives the same catalog, history, bundles and outcomes.
   * @default 1
   */
  seed?: number;
  /**
   * Days of served bundles, ending today (UTC); the shopping history ends before the first.
   * @default 7
   */
  days?: number;
  /**
   * Bundles served per day.
   * @default 40
   */
  perDay?: number;
  /** The end of the period (tests). @default now */
  now?: Date;
}

/** What {@link seedBundlesQa} wrote. */
export interface SeedQaResult {
  namespaceId: string;
  createdNamespace: boolean;
  items: number;
  historyEvents: number;
  /** Bundles served (recorded); `newlyRecorded` of them were not stored before. */
  bundlesServed: number;
  newlyRecorded: number;
  /** Planned outcomes: every item added (of which purchased), or one item added only. */
  allAdded: number;
  purchased: number;
  partiallyAdded: number;
  /** Bundle events stored now (0 on a second run: event ids are deterministic). */
  bundleEvents: number;
}

const DAY = 86_400_000;

/**
 * Seeds a namespace (`slug`) with deterministic demo data for bundles: a generated retail catalog and
 * shopping history (the fixtures generator), then, for each of the last `days` days, bundles served on
 * product pages of items that have one (suggested by the engine from that history) and what the
 * visitors did: impressions, "add all to cart", purchases — events carrying the bundle's `requestId`,
 * as the bundle widget sends them. `recsys bundles acceptance` then has something to show. Running it
 * again adds nothing (ids are derived from the seed).
 */
export async function seedBundlesQa(
  database: Database,
  slug: string,
  options: SeedQaOptions = {},
): Promise<SeedQaResult> {
  const seed = options.seed ?? 1;
  const days = options.days ?? 7;
  const perDay = options.perDay ?? 40;
  const now = options.now ?? new Date();
  const today = Math.floor(now.getTime() / DAY) * DAY;
  const firstDay = today - (days - 1) * DAY;

  const data = generate({ template: 'retail', seed, items: 60, users: 200, days: 28 });
  const seeded = await seedNamespace(
    database,
    slug,
    { data, label: `bundles-qa:${seed}`, seed, importReport: undefined },
    { shiftTo: new Date(firstDay - DAY) },
  );

  // The same suggestions the server makes from that history (bundles are read from the engine, not invented).
  const engine = createEngine({ now: () => firstDay });
  engine.upsertItems(data.items.map((i) => fixtureItemToEngine(i)));
  const shift = firstDay - DAY - Math.max(...data.events.map((e) => Date.parse(e.ts)));
  engine.addEvents(
    data.events
      .map(fixtureEventToEngine)
      .filter((e): e is EngineEvent => e !== undefined)
      .map((e) => ({ ...e, ts: e.ts + shift })),
  );
  const bundles = data.items
    .map((item) => engine.bundle({ itemId: item.itemId }))
    .filter((b) => b.items.length >= 2)
    .sort((a, b) => a.anchorItemId.localeCompare(b.anchorItemId));
  const result: SeedQaResult = {
    namespaceId: slug,
    createdNamespace: seeded.createdNamespace,
    items: data.items.length,
    historyEvents: seeded.events.accepted + seeded.events.duplicates,
    bundlesServed: 0,
    newlyRecorded: 0,
    allAdded: 0,
    purchased: 0,
    partiallyAdded: 0,
    bundleEvents: 0,
  };
  if (bundles.length === 0) return result;

  const settings = ((await getNamespace(database, slug))?.settings ?? {}) as Parameters<
    typeof ingestEvents
  >[2];
  const rng = createRng(`bundles-qa:${seed}`);
  for (let d = 0; d < days; d++) {
    const dayStart = firstDay + d * DAY;
    // Today's bundles fall before now, so acceptance (served up to now) counts all of them.
    const span = Math.max(1, Math.min(DAY, now.getTime() - dayStart) - 3_600_000);
    const served: ServedBundleRecord[] = [];
    const events: Array<Record<string, unknown>> = [];
    for (let i = 0; i < perDay; i++) {
      const bundle = bundles[Math.floor(rng.next() * bundles.length)]!;
      const requestId = `qa-bundle-${seed}-${d}-${i}`;
      const anonymousId = `qa-visitor-${seed}-${d}-${i}`;
      const servedAt = dayStart + Math.floor(rng.next() * span);
      served.push({
        requestId,
        anonymousId,
        userId: null,
        items: bundle.items.map((item, r) => ({ itemId: item.itemId, rank: r + 1, score: item.score })),
        servedAt: new Date(servedAt),
      });
      const roll = rng.next();
      const bought = rng.next() < 0.6;
      const event = (type: string, itemId: string, rank: number, minutes: number) => ({
        eventId: `${requestId}-${type}-${rank}`,
        type,
        itemId,
        anonymousId,
        sessionId: `${anonymousId}-s`,
        ts: new Date(servedAt + minutes * 60_000).toISOString(),
        meta: { recommended: true, requestId, rank, surface: 'bundle', widget: 'bundle' },
      });
      bundle.items.forEach((item, r) => {
        events.push(event('view', item.itemId, r + 1, 0));
      });
      if (roll < 0.3) {
        result.allAdded++;
        bundle.items.forEach((item, r) => {
          events.push(event('add', item.itemId, r + 1, 1));
        });
        if (bought) {
          result.purchased++;
          bundle.items.forEach((item, r) => {
            const e = event('purchase', item.itemId, r + 1, 20);
            events.push({ ...e, meta: { ...e.meta, orderId: `qa-order-${requestId}` } });
          });
        }
      } else if (roll < 0.5) {
        result.partiallyAdded++;
        events.push(event('add', bundle.items[0]!.itemId, 1, 1));
      }
    }
    result.bundlesServed += served.length;
    result.newlyRecorded += await recordServedBundles(database, slug, served);
    const stored = await ingestEvents(database, slug, settings, events, {
      receivedAt: new Date(Math.min(now.getTime(), dayStart + span + 3_600_000)),
    });
    result.bundleEvents += stored.accepted;
  }
  return result;
}
