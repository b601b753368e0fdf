import { createTextEncoder, type EmbeddingEncoder } from '@recsys/engine';
import { mulberry32 } from '@recsys/engine/random';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../db/client';
import { getTestDatabaseTargets, runRecsys, startTestServer, type TestTenant } from '../testing';
import { trainNamespaceEncoder } from './encoder';

const PAIRS: Array<[string, string]> = [
  ['kettle', 'teabag'],
  ['candle', 'matchbox'],
  ['vase', 'tulip'],
  ['notebook', 'pencil'],
];
const FINISHES = ['red', 'blue', 'green', 'ivory', 'copper', 'striped'];

/**
 * The learned encoder end to end: trained from a namespace's orders, stored, loaded by the engines
 * (and again after a restart), and used for an item added after training that has no sale yet.
 */
describe.each(getTestDatabaseTargets())('recsys encoder train on $name', (target) => {
  let database: Database & { drop(): Promise<void>; url?: string };
  let encoder: EmbeddingEncoder;
  let stack: Awaited<ReturnType<typeof startTestServer>> | undefined;
  let shop: TestTenant;
  const start = () => startTestServer(database, { engine: { encoder, pollIntervalMs: 100 } });
  const cartOf = async (itemId: string) =>
    (await shop.browser.recs.cart.query({ itemIds: [itemId], k: 4, explain: true })).items;

  beforeAll(async () => {
    database = await target.open();
    encoder = await createTextEncoder({ kind: 'builtin', dim: 64, buckets: 4096 });
    stack = await start();
    shop = await stack.tenant('cold-shop');
    await shop.admin.items.upsert.mutate({
      items: PAIRS.flatMap(([a, b]) =>
        FINISHES.flatMap((f) => [
          { itemId: `${a}-${f}`, title: `${f} ${a}` },
          { itemId: `${b}-${f}`, title: `${f} ${b}` },
        ]),
      ),
    });
    const random = mulberry32(3);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
    const ts = new Date(Date.now() - 86_400_000).toISOString();
    const orders = Array.from({ length: 160 }, (_, n) => {
      const [a, b] = pick(PAIRS);
      return [`${a}-${pick(FINISHES)}`, `${b}-${pick(FINISHES)}`].map((itemId, i) => ({
        eventId: `o${n}-${i}`,
        type: 'purchase' as const,
        itemId,
        userId: `u${n}`,
        ts,
        value: 1,
        meta: { orderId: `o${n}` },
      }));
    });
    // One best seller: without learned complements it would top every new item's cart shelf.
    const bestseller = Array.from({ length: 30 }, (_, n) => ({
      eventId: `single-${n}`,
      type: 'purchase' as const,
      itemId: 'notebook-red',
      userId: `s${n}`,
      ts,
      value: 1,
    }));
    await shop.admin.events.batch.mutate({ events: [...orders.flat(), ...bestseller] });
    await stack!.engines!.drainEmbeddings();
  });
  afterAll(async () => {
    await stack?.close();
    await encoder?.dispose();
    await database?.drop();
  });

  it('gives an item added after training its complements on the cart shelf, and again after a restart', async () => {
    const info = await trainNamespaceEncoder(database, { namespaceId: 'cold-shop' });
    expect(info.items).toBe(48);
    await shop.admin.items.upsert.mutate({ items: [{ itemId: 'kettle-shiny', title: 'shiny kettle' }] });
    await stack!.engines!.drainEmbeddings();
    const teabags = (items: Array<{ itemId: string }>) => items.every((i) => i.itemId.startsWith('teabag-'));
    const first = await cartOf('kettle-shiny');
    expect(first).toHaveLength(4);
    expect(teabags(first)).toBe(true);
    expect(first[0]!.reasons?.[0]).toMatchObject({ signal: 'boughtTogether', relatedItemId: 'kettle-shiny' });

    // A new process: the model comes from the database, the lists are computed again off the request path.
    await stack!.close();
    stack = await start();
    await stack.engines!.drainEmbeddings();
    const again = stack.engines!.get('cold-shop').engine.recommend({
      surface: 'cart',
      cartItemIds: ['kettle-shiny'],
      k: 4,
    });
    expect(teabags(again.items)).toBe(true);
  });

  it.skipIf(target.name !== 'postgres')('trains and activates from the command line', async () => {
    const { code, stdout, stderr } = await runRecsys(
      ['encoder', 'train', '-n', 'cold-shop', '--ridge', '1', '--json'],
      { env: { DATABASE_URL: database.url! } },
    );
    expect(code, stderr).toBe(0);
    const info = JSON.parse(stdout) as { modelId: string; ridge: number; items: number };
    expect(info).toMatchObject({ ridge: 1, items: 48 });
    await stack!.engines!.catchUp();
    expect(stack!.engines!.get('cold-shop').learned?.modelId).toBe(info.modelId);
    await stack!.engines!.drainEmbeddings();
    const res = stack!.engines!.get('cold-shop').engine.recommend({
      surface: 'cart',
      cartItemIds: ['kettle-shiny'],
      k: 4,
    });
    expect(res.items.every((i) => i.itemId.startsWith('teabag-'))).toBe(true);
  });
});
