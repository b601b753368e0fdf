import { createGenerator, type FixtureItem } from '@recsys/fixtures';
import { type Database, type ItemInput, ingestEvents, upsertItems, upsertUsers } from '@recsys/server';
import { fixtureItemToInput } from '@recsys/server/lab';

/** Size and randomness of the demo shop. */
export interface DemoSeedOptions {
  /**
   * Generator seed: the same seed gives the same catalog and history.
   * @default 42
   * @example 7
   */
  seed?: number;
  /**
   * Catalog size.
   * @default 2000
   * @example 500
   */
  items?: number;
  /**
   * Approximate number of historical events.
   * @default 30000
   * @example 5000
   */
  events?: number;
  /**
   * Days of history, ending at the start of the current UTC day, so trending
   * and recency signals look alive whenever the demo is first started.
   * @default 60
   * @example 30
   */
  days?: number;
}

const DAY_MS = 86_400_000;
const BATCH = 500;

/** Shop-local page and image URLs, so widgets never load anything from another host. */
export function toItemInput(item: FixtureItem): ItemInput {
  return {
    ...fixtureItemToInput(item),
    props: {
      url: `/p/${encodeURIComponent(item.itemId)}`,
      imageUrl: `/img/${encodeURIComponent(item.itemId)}.svg`,
    },
  };
}

function assertNoRejections(what: string, rejected: Array<{ index: number; path: string; message: string }>) {
  const first = rejected[0];
  if (first) {
    throw new Error(
      `Seeding the demo shop: ${rejected.length} ${what} were rejected, first at index ${first.index} (${first.path}: ${first.message}).`,
    );
  }
}

/**
 * Fills a namespace with the retail template: catalog, users and history.
 * Idempotent (upserts, events deduplicated by id), so an interrupted seed can simply run again.
 */
export async function seedDemoNamespace(
  database: Database,
  namespaceId: string,
  options: DemoSeedOptions = {},
  now = new Date(),
): Promise<{ items: number; users: number; events: number }> {
  const days = options.days ?? 60;
  const today = Math.floor(now.getTime() / DAY_MS) * DAY_MS;
  const generator = createGenerator({
    template: 'retail',
    seed: options.seed ?? 42,
    items: options.items ?? 2000,
    events: options.events ?? 30_000,
    days,
    start: new Date(today - days * DAY_MS).toISOString(),
  });
  const items = generator.items.filter((i) => !i.archived).map(toItemInput);
  for (let i = 0; i < items.length; i += BATCH) {
    const result = await upsertItems(database, namespaceId, items.slice(i, i + BATCH));
    assertNoRejections('items', result.rejected);
  }
  for (let i = 0; i < generator.users.length; i += BATCH) {
    const result = await upsertUsers(database, namespaceId, {}, generator.users.slice(i, i + BATCH));
    assertNoRejections('users', result.rejected);
  }
  let events = 0;
  let batch: unknown[] = [];
  const flush = async () => {
    const result = await ingestEvents(database, namespaceId, {}, batch);
    assertNoRejections('events', result.rejected);
    events += result.accepted + result.duplicates;
    batch = [];
  };
  for (const event of generator.generateEvents()) {
    batch.push(event);
    if (batch.length === BATCH) await flush();
  }
  if (batch.length) await flush();
  return { items: items.length, users: generator.users.length, events };
}
