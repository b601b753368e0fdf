import { createTextEncoder, type EmbeddingEncoder } from '@recsys/engine';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../db/client';
import { getTestDatabaseTargets, startTestServer, type TestTenant } from '../testing';

/**
 * Text embeddings end to end: items stored through the API are embedded by
 * the built-in ONNX encoder in the background, stored, indexed, and used for
 * items that have no behaviour yet.
 */
describe.each(getTestDatabaseTargets())('recommendations with text embeddings on $name', (target) => {
  let database: Database & { drop(): Promise<void> };
  let encoder: EmbeddingEncoder;
  let stack: Awaited<ReturnType<typeof startTestServer>>;
  let shop: TestTenant;
  const ids = (list: { items: Array<{ itemId: string }> }) => list.items.map((i) => i.itemId);

  beforeAll(async () => {
    database = await target.open();
    encoder = await createTextEncoder({ kind: 'builtin', dim: 64 });
    stack = await startTestServer(database, { engine: { encoder, pollIntervalMs: 100 } });
    shop = await stack.tenant('text-shop');
    await shop.admin.items.upsert.mutate({
      items: [
        {
          itemId: 'tent-1',
          title: 'Two person hiking tent',
          description: 'Lightweight waterproof tent for trekking',
          category: 'camping',
        },
        {
          itemId: 'tent-2',
          title: 'Family camping tent',
          description: 'Waterproof tent with two rooms',
          category: 'camping',
        },
        {
          itemId: 'bag-1',
          title: 'Down sleeping bag',
          description: 'Warm sleeping bag for camping and trekking',
          category: 'camping',
        },
        {
          itemId: 'mug-1',
          title: 'Porcelain espresso cup',
          description: 'Small cup for strong coffee',
          category: 'kitchen',
        },
        {
          itemId: 'pan-1',
          title: 'Cast iron frying pan',
          description: 'Heavy pan for the kitchen stove',
          category: 'kitchen',
        },
        {
          itemId: 'tent-new',
          title: 'Ultralight trekking tent',
          description: 'One person waterproof hiking tent',
          category: 'camping',
        },
      ],
    });
    // Behaviour for the older items only; tent-new has none.
    await shop.admin.events.batch.mutate({
      events: ['tent-1', 'bag-1', 'mug-1', 'pan-1'].flatMap((itemId, i) =>
        [0, 1].map((j) => ({
          eventId: `v-${i}-${j}`,
          type: 'view',
          itemId,
          anonymousId: `a-${j}`,
          ts: new Date().toISOString(),
        })),
      ),
    });
    await stack.engines!.drainEmbeddings();
  });
  afterAll(async () => {
    await stack?.close();
    await encoder?.dispose();
    await database?.drop();
  });

  it('stores one vector per item, recomputed only when the text changes', async () => {
    const before = await database.query<{ item_id: string; text_hash: string }>(
      `SELECT item_id, text_hash FROM item_embeddings WHERE namespace_id = 'text-shop' ORDER BY item_id`,
    );
    expect(before.map((r) => r.item_id)).toEqual(['bag-1', 'mug-1', 'pan-1', 'tent-1', 'tent-2', 'tent-new']);
    await shop.admin.items.upsert.mutate({
      items: [
        { itemId: 'mug-1', price: 9 },
        { itemId: 'pan-1', title: 'Steel frying pan' },
      ],
    });
    await stack.engines!.drainEmbeddings();
    const after = await database.query<{ item_id: string; text_hash: string }>(
      `SELECT item_id, text_hash FROM item_embeddings WHERE namespace_id = 'text-shop' ORDER BY item_id`,
    );
    const changed = after.filter((r, i) => r.text_hash !== before[i]?.text_hash).map((r) => r.item_id);
    expect(changed).toEqual(['pan-1']);
  });

  it('gives a new item with no behaviour neighbours from its text, and says why', async () => {
    const res = await shop.browser.recs.similar.query({ itemId: 'tent-new', k: 3, explain: true });
    expect(ids(res).slice(0, 2).sort()).toEqual(['tent-1', 'tent-2']);
    expect(res.items[0]?.reasons?.some((r) => r.signal === 'embedding')).toBe(true);
    expect(ids(res)).not.toContain('tent-new');
  });

  it('keeps precomputed neighbour lists as long as the namespace config asks for, plus a quarter', async () => {
    const vectors = () => stack.engines!.get('text-shop').vectors;
    // Default candidatesPerSignal 100 → lists of 120 → rows of 150.
    expect(vectors()?.neighborTableLength).toBe(150);
    const saved = await shop.admin.admin.config.save.mutate({
      config: { ranking: { candidatesPerSignal: 200 } },
    });
    await shop.admin.admin.config.activate.mutate({ version: saved.version });
    await stack.engines!.catchUp();
    expect(vectors()?.neighborTableLength).toBe(300);
    await shop.admin.admin.config.rollback.mutate({});
    await stack.engines!.catchUp();
    expect(vectors()?.neighborTableLength).toBe(150);
  });
});
