import { createHash } from 'node:crypto';
import {
  DATASET_NAMES,
  type DatasetName,
  type FixtureData,
  type FixtureEvent,
  type FixtureItem,
  type FixtureSummary,
  FixtureValidationError,
  generate,
  type ImportReport,
  loadDataset,
  parseFixture,
  summarize,
} from '@recsys/fixtures';
import {
  archiveItems,
  createNamespace,
  type Database,
  getNamespace,
  type ItemInput,
  ingestEvents,
  type RowError,
  readStructuredFile,
  UserError,
  upsertItems,
  upsertUsers,
} from '../../index';

/** Where seed data comes from. */
export type SeedSource =
  /** A fixture file (JSON or YAML): explicit data or a generator spec. */
  | { kind: 'fixture'; path: string }
  /** A real dataset under `dataDir` (`../shared/data` in this project). */
  | { kind: 'dataset'; name: DatasetName; dataDir: string }
  /** Already materialized data (tests, batch runs that share one load). */
  | { kind: 'data'; data: FixtureData; label: string; seed?: number | string | undefined };

/** Loaded seed data with what describes it in reports. */
export interface LoadedSeed {
  data: FixtureData;
  /** Human-readable origin: a path, `dataset:online-retail`, … */
  label: string;
  /** Generator seed when the data was generated. */
  seed: number | string | undefined;
  /** Importer report for real datasets (rows read, dropped, rejected). */
  importReport: ImportReport | undefined;
}

/** Reads a fixture file or a dataset into memory. */
export async function loadSeed(source: SeedSource): Promise<LoadedSeed> {
  if (source.kind === 'data') {
    return { data: source.data, label: source.label, seed: source.seed, importReport: undefined };
  }
  if (source.kind === 'dataset') {
    if (!DATASET_NAMES.includes(source.name)) {
      throw new UserError(
        'BAD_REQUEST',
        `Unknown dataset "${source.name}"; use one of ${DATASET_NAMES.join(', ')}.`,
      );
    }
    try {
      const { report, ...data } = await loadDataset(source.name, source.dataDir);
      return { data, label: `dataset:${source.name}`, seed: undefined, importReport: report };
    } catch (error) {
      throw new UserError('NOT_FOUND', (error as Error).message);
    }
  }
  const value = readStructuredFile(source.path);
  let fixture: ReturnType<typeof parseFixture>;
  try {
    fixture = parseFixture(value, { source: source.path });
  } catch (error) {
    if (error instanceof FixtureValidationError) throw new UserError('BAD_REQUEST', error.message);
    throw error;
  }
  if ('generate' in fixture) {
    return {
      data: generate(fixture.generate),
      label: source.path,
      seed: fixture.generate.seed,
      importReport: undefined,
    };
  }
  return {
    data: { items: fixture.items, users: fixture.users, events: fixture.events },
    label: source.path,
    seed: undefined,
    importReport: undefined,
  };
}

/**
 * Moves every timestamp by the same amount so the newest event is at `now`.
 * Recency-based behaviour (trending, purchase exclusion windows, decay) then
 * looks as it would on a live shop, while gaps between events are unchanged.
 */
export function shiftToNow(data: FixtureData, now: Date): { data: FixtureData; shiftMs: number } {
  let latest = Number.NEGATIVE_INFINITY;
  for (const e of data.events) latest = Math.max(latest, Date.parse(e.ts));
  if (!Number.isFinite(latest)) return { data, shiftMs: 0 };
  const shiftMs = now.getTime() - latest;
  const move = (iso: string) => new Date(Date.parse(iso) + shiftMs).toISOString();
  return {
    shiftMs,
    data: {
      items: data.items.map((i) => (i.createdAt ? { ...i, createdAt: move(i.createdAt) } : i)),
      users: data.users,
      events: data.events.map((e) => ({ ...e, ts: move(e.ts) })),
    },
  };
}

/** Stable short hash of the data (ids, timestamps, values), for report metadata. */
export function hashFixtureData(data: FixtureData): string {
  const h = createHash('sha256');
  for (const i of data.items) h.update(`i|${i.itemId}|${i.title}|${i.price ?? ''}|${i.tags.join(',')}\n`);
  for (const u of data.users) h.update(`u|${u.userId}|${JSON.stringify(u.traits)}\n`);
  for (const e of data.events) {
    h.update(
      `e|${e.eventId}|${e.type}|${e.itemId ?? ''}|${e.userId ?? ''}|${e.anonymousId ?? ''}|${e.ts}|${e.value ?? ''}\n`,
    );
  }
  return h.digest('hex').slice(0, 16);
}

/** The API's item shape for a fixture item (archived is applied separately, as the API does). */
export function fixtureItemToInput(item: FixtureItem): ItemInput {
  return {
    itemId: item.itemId,
    title: item.title,
    description: item.description ?? null,
    price: item.price ?? null,
    currency: item.currency ?? null,
    available: item.available,
    tags: item.tags,
    ...(item.props ? { props: item.props } : {}),
    ...(item.parentId ? { parentId: item.parentId } : {}),
    ...(item.createdAt ? { createdAt: item.createdAt } : {}),
  };
}

function fixtureEventToInput(event: FixtureEvent): unknown {
  // The generator numbers list positions from 0; the event contract's `rank` is 1-based.
  const rank = event.meta?.rank;
  return rank === undefined ? event : { ...event, meta: { ...event.meta, rank: rank + 1 } };
}

/** Counts of one table's rows in a seed run. */
export interface SeedCounts {
  total: number;
  /** Items/users written, or events newly stored. */
  accepted: number;
  /** Events already stored (same eventId); always 0 for items and users, which upsert. */
  duplicates: number;
  rejected: number;
  /** The first rejected rows (index within the whole input), to fix the data. */
  rejectedSamples: RowError[];
}

export interface SeedResult {
  namespaceId: string;
  /** Whether the namespace was created by this run. */
  createdNamespace: boolean;
  source: string;
  seed: number | string | undefined;
  /** How far timestamps were moved (`shiftToNow`), 0 when not. */
  shiftMs: number;
  dataHash: string;
  items: SeedCounts & { archived: number };
  users: SeedCounts;
  events: SeedCounts;
  /** Counts per segment, category, event type; sample traits. */
  summary: FixtureSummary;
  importReport: ImportReport | undefined;
  timings: { itemsMs: number; usersMs: number; eventsMs: number; totalMs: number };
}

export interface SeedOptions {
  /**
   * Rows per store call; each call is one short transaction.
   * @default 500
   */
  batchSize?: number;
  /**
   * Move timestamps so the newest event is at this instant (see {@link shiftToNow}).
   * @default undefined (keep the data's own timestamps)
   * @example { shiftTo: new Date() }
   */
  shiftTo?: Date | undefined;
  /** Progress callback, e.g. to drive a progress bar. */
  onProgress?: ((phase: 'items' | 'users' | 'events', done: number, total: number) => void) | undefined;
}

const emptyCounts = (total: number): SeedCounts => ({
  total,
  accepted: 0,
  duplicates: 0,
  rejected: 0,
  rejectedSamples: [],
});

function addRejected(counts: SeedCounts, rejected: RowError[], offset: number) {
  const rows = new Set(rejected.map((r) => r.index));
  counts.rejected += rows.size;
  for (const r of rejected) {
    if (counts.rejectedSamples.length >= 20) break;
    counts.rejectedSamples.push({ ...r, index: r.index + offset });
  }
}

/**
 * Writes items, users and events into a namespace through the same store
 * functions the API uses, batch by batch (many short transactions, so a large
 * dataset never holds one long transaction and engine hosts pick rows up as
 * they commit). Creates the namespace when missing. Idempotent: items and
 * users upsert, events are deduplicated by `eventId`.
 */
export async function seedNamespace(
  database: Database,
  namespaceId: string,
  loaded: LoadedSeed,
  options: SeedOptions = {},
): Promise<SeedResult> {
  const started = performance.now();
  const batch = options.batchSize ?? 500;
  const shifted = options.shiftTo
    ? shiftToNow(loaded.data, options.shiftTo)
    : { data: loaded.data, shiftMs: 0 };
  const data = shifted.data;
  let createdNamespace = false;
  if (!(await getNamespace(database, namespaceId))) {
    await createNamespace(database, namespaceId);
    createdNamespace = true;
  }
  const ns = await getNamespace(database, namespaceId);
  const settings = (ns?.settings ?? {}) as { pii?: 'reject' | 'scrub' };

  const items = { ...emptyCounts(data.items.length), archived: 0 };
  const t0 = performance.now();
  for (let i = 0; i < data.items.length; i += batch) {
    const slice = data.items.slice(i, i + batch);
    const result = await upsertItems(database, namespaceId, slice.map(fixtureItemToInput));
    items.accepted += result.upserted;
    addRejected(items, result.rejected, i);
    const archived = slice.filter((it) => it.archived).map((it) => it.itemId);
    if (archived.length) items.archived += (await archiveItems(database, namespaceId, archived)).changed;
    options.onProgress?.('items', Math.min(i + batch, data.items.length), data.items.length);
  }
  const t1 = performance.now();
  const users = emptyCounts(data.users.length);
  for (let i = 0; i < data.users.length; i += batch) {
    const result = await upsertUsers(database, namespaceId, settings, data.users.slice(i, i + batch));
    users.accepted += result.upserted;
    addRejected(users, result.rejected, i);
    options.onProgress?.('users', Math.min(i + batch, data.users.length), data.users.length);
  }
  const t2 = performance.now();
  const events = emptyCounts(data.events.length);
  for (let i = 0; i < data.events.length; i += batch) {
    const slice = data.events.slice(i, i + batch).map(fixtureEventToInput);
    const result = await ingestEvents(database, namespaceId, settings, slice);
    events.accepted += result.accepted;
    events.duplicates += result.duplicates;
    addRejected(events, result.rejected, i);
    options.onProgress?.('events', Math.min(i + batch, data.events.length), data.events.length);
  }
  const t3 = performance.now();
  return {
    namespaceId,
    createdNamespace,
    source: loaded.label,
    seed: loaded.seed,
    shiftMs: shifted.shiftMs,
    dataHash: hashFixtureData(loaded.data),
    items,
    users,
    events,
    summary: summarize(data),
    importReport: loaded.importReport,
    timings: {
      itemsMs: Math.round(t1 - t0),
      usersMs: Math.round(t2 - t1),
      eventsMs: Math.round(t3 - t2),
      totalMs: Math.round(t3 - started),
    },
  };
}
