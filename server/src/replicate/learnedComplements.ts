import {
  type BuiltinEncoder,
  type ColdComplements,
  type CoPurchaseProjection,
  createLearnedEncoder,
  itemText,
  learnedModelId,
  loadProjection,
  type Neighbor,
  type StoredProjection,
  storeProjection,
} from '@recsys/engine';
import { eq } from 'drizzle-orm';
import type { Database } from '../db/client';
import { changes, learnedEncoders } from '../db/schema';
import type { NamespaceRuntime } from './namespaceRuntime';
import { readItems } from './reads';
import { toEngineItem } from './rows';

/** Complements kept per item: what the bought-together signal reads for one anchor, with room to filter. */
export const COLD_LIST_LENGTH = 100;

/** What `recsys encoder train` reports and stores beside the model. */
export interface LearnedEncoderInfo {
  modelId: string;
  items: number;
  pairs: number;
  ridge: number;
  dim: number;
  /** Only events at or after this time were learned from; absent: all. */
  since?: string | undefined;
  trainedAt: string;
}

/**
 * Stores a namespace's learned encoder (replacing the previous one) and announces it with a
 * `changes` row, so every engine host loads it on its next poll and after a restart.
 */
export async function writeLearnedEncoder(
  database: Database,
  namespaceId: string,
  projection: CoPurchaseProjection,
  since: string | undefined,
): Promise<LearnedEncoderInfo> {
  const { weights, ...stored } = storeProjection(projection);
  const info: LearnedEncoderInfo = {
    modelId: learnedModelId(projection),
    items: projection.itemIds.length,
    pairs: projection.pairs,
    ridge: projection.ridge,
    dim: projection.model.dim,
    ...(since !== undefined ? { since } : {}),
    trainedAt: new Date().toISOString(),
  };
  const row = {
    modelId: info.modelId,
    model: { ...stored, info } as unknown as Record<string, unknown>,
    weights,
    itemIds: projection.itemIds,
    itemVectors: new Uint8Array(
      projection.itemVectors.buffer,
      projection.itemVectors.byteOffset,
      projection.itemVectors.byteLength,
    ),
  };
  await database.db.transaction(async (tx) => {
    await tx
      .insert(learnedEncoders)
      .values({ namespaceId, ...row })
      .onConflictDoUpdate({ target: learnedEncoders.namespaceId, set: { ...row, createdAt: new Date() } });
    await tx.insert(changes).values({ namespaceId, kind: 'encoder', payload: { modelId: info.modelId } });
  });
  return info;
}

/** A namespace's stored learned encoder, or undefined when it has none. */
export async function readLearnedEncoder(
  database: Database,
  namespaceId: string,
): Promise<{ projection: CoPurchaseProjection; info: LearnedEncoderInfo } | undefined> {
  const [row] = await database.db
    .select()
    .from(learnedEncoders)
    .where(eq(learnedEncoders.namespaceId, namespaceId));
  if (row === undefined) return undefined;
  const { info, ...stored } = row.model as unknown as Omit<StoredProjection, 'weights'> & {
    info: LearnedEncoderInfo;
  };
  const projection = loadProjection({ ...stored, weights: row.weights });
  const dim = projection.model.dim;
  if (row.itemVectors.byteLength !== row.itemIds.length * dim * 4) {
    throw new Error(
      `learned encoder of "${namespaceId}": ${row.itemIds.length} items need ${row.itemIds.length * dim * 4} bytes of vectors, found ${row.itemVectors.byteLength}`,
    );
  }
  const itemVectors = new Float32Array(row.itemIds.length * dim);
  new Uint8Array(itemVectors.buffer).set(row.itemVectors);
  return { projection: { ...projection, itemIds: row.itemIds, itemVectors }, info };
}

/**
 * One namespace's learned complement lists, filled off the request path: items are queued when the
 * model loads or an item's text changes, and {@link LearnedComplements.fillBatch} (run by the
 * embedding job) encodes a batch through onnxruntime-node and ranks the item tower for each.
 */
export class LearnedComplements implements ColdComplements {
  private readonly lists = new Map<string, Neighbor[]>();
  /** Item id → text still to encode. */
  readonly pending = new Map<string, string>();
  private readonly dim: number;

  private constructor(
    readonly projection: CoPurchaseProjection,
    readonly modelId: string,
    private readonly encoder: BuiltinEncoder,
  ) {
    this.dim = projection.model.dim;
  }

  static async create(projection: CoPurchaseProjection): Promise<LearnedComplements> {
    // Released while idle: a namespace re-encodes only when its catalog changes.
    const encoder = await createLearnedEncoder(projection);
    return new LearnedComplements(projection, learnedModelId(projection), encoder);
  }

  get(itemId: string): readonly Neighbor[] | undefined {
    return this.lists.get(itemId);
  }

  /** Queues an item whose text is new or changed. */
  queue(itemId: string, text: string): void {
    this.lists.delete(itemId);
    this.pending.set(itemId, text);
  }

  /** Encodes up to `size` queued items and ranks the item tower for each. */
  async fillBatch(size: number): Promise<void> {
    const batch = [...this.pending].slice(0, size);
    if (batch.length === 0) return;
    const queries = await this.encoder.encode(batch.map(([, text]) => text));
    const { itemIds, itemVectors } = this.projection;
    const dim = this.dim;
    for (const [b, [itemId, text]] of batch.entries()) {
      // One item's ranking scans the whole tower: give requests a turn between items.
      if (b > 0) await new Promise<void>((resolve) => setImmediate(resolve));
      // A newer text queued while this batch was encoding wins.
      if (this.pending.get(itemId) !== text) continue;
      this.pending.delete(itemId);
      const q = queries[b]!;
      const scored: Neighbor[] = [];
      for (let j = 0; j < itemIds.length; j++) {
        if (itemIds[j] === itemId) continue;
        let s = 0;
        const base = j * dim;
        for (let d = 0; d < dim; d++) s += q[d]! * itemVectors[base + d]!;
        if (s > 0) scored.push({ itemId: itemIds[j]!, score: s });
      }
      scored.sort((x, y) => y.score - x.score || (x.itemId < y.itemId ? -1 : 1));
      const top = scored.slice(0, COLD_LIST_LENGTH);
      // Scaled into (0, 1]: the bought-together signal's own scores live there too.
      const max = top[0]?.score ?? 1;
      this.lists.set(
        itemId,
        top.map((n) => ({ itemId: n.itemId, score: n.score / max })),
      );
    }
  }

  async dispose(): Promise<void> {
    await this.encoder.dispose();
  }
}

/**
 * Gives a namespace runtime its stored learned encoder: `previous` is kept when it is the same model
 * (its lists stay valid), else a new one is created and every catalog item queued for the embedding
 * job; without a stored model the runtime has no cold complements.
 */
export async function applyLearnedEncoder(
  database: Database,
  rt: NamespaceRuntime,
  previous: LearnedComplements | undefined,
): Promise<void> {
  const stored = await readLearnedEncoder(database, rt.namespaceId);
  let learned: LearnedComplements | undefined;
  if (stored !== undefined && previous?.modelId === stored.info.modelId) learned = previous;
  else if (stored !== undefined) {
    learned = await LearnedComplements.create(stored.projection);
    const rows = await readItems(database, { lo: 0, hi: Number.MAX_SAFE_INTEGER }, rt.namespaceId);
    for (const row of rows) {
      const item = toEngineItem(row);
      const text = itemText(item);
      if (text.length > 0) learned.queue(item.itemId, text);
    }
  }
  if (previous !== undefined && previous !== learned) await previous.dispose();
  rt.learned = learned;
  rt.engine.setColdComplements(learned);
}
