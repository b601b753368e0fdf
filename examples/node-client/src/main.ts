/**
 * A shop backend talking to Recsys from Node: create a namespace and a secret
 * key, sync the catalog and customers with the typed tRPC client, send an
 * order server-side, and read recommendations (e.g. for an e-mail).
 *
 * It starts its own embedded Recsys (temporary database, free port) so it runs
 * on a fresh clone: `pnpm --filter @recsys/node-client-example start`.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createNodeClient, createTracker, signUserToken } from '@recsys/sdk/node';
import {
  type AppRouter,
  createApiKey,
  createLogger,
  createNamespace,
  type RecsResponse,
  startRecsys,
} from '@recsys/server';
import { CATALOG, PAST_ORDERS } from './catalog';

const dataDir = await mkdtemp(join(tmpdir(), 'recsys-node-client-'));
// Its own temporary embedded database, even where DATABASE_URL points at a shared server.
const recsys = await startRecsys({
  databaseUrl: null,
  dataDir,
  port: 0,
  logger: createLogger({ level: 'warn' }),
});

try {
  // 1. Provisioning, done once per shop (the `recsys namespace create` / `recsys keys create` CLI does the same).
  await createNamespace(recsys.database, 'coffee-shop');
  const { key: secretKey } = await createApiKey(recsys.database, 'coffee-shop', { kind: 'secret' });
  console.log(`Recsys at ${recsys.url}, namespace coffee-shop`);

  // 2. The backend's typed client: inputs and outputs are inferred from the server's router.
  const api = createNodeClient<AppRouter>({ endpoint: recsys.url, secretKey });

  const synced = await api.items.upsert.mutate({ items: CATALOG });
  console.log(`Synced ${synced.upserted} items (${synced.rejected.length} rejected)`);
  const customers = [...new Set(PAST_ORDERS.map((o) => o.userId))];
  const users = await api.users.upsert.mutate({
    users: customers.map((userId, i) => ({
      userId,
      traits: { country: i % 2 ? 'DE' : 'FR', loyaltyTier: 'silver' },
    })),
  });
  console.log(`Synced ${users.upserted} customers`);

  // 3. History backfill through events.batch (idempotent: eventIds make replays harmless).
  const day = 86_400_000;
  const history = PAST_ORDERS.flatMap((order, o) =>
    order.items.map((itemId, i) => ({
      eventId: `backfill-${o}-${i}`,
      type: 'purchase' as const,
      itemId,
      userId: order.userId,
      ts: new Date(Date.now() - (PAST_ORDERS.length - o) * day).toISOString(),
      value: 1,
      meta: { orderId: `past-${o}` },
    })),
  );
  const batch = await api.events.batch.mutate({ events: history });
  console.log(`Backfilled ${batch.accepted} purchase events`);

  // 4. A live order, sent server-side when the payment succeeds (no browser involved).
  const tracker = createTracker({ endpoint: recsys.url, key: secretKey });
  tracker.purchase(
    {
      orderId: 'o-1001',
      currency: 'EUR',
      items: [
        { itemId: 'beans-house', quantity: 2, price: 18.5 },
        { itemId: 'dripper-v60', quantity: 1, price: 24 },
      ],
    },
    { userId: 'ana' },
  );
  await tracker.flush();
  console.log('Order o-1001 sent for ana (2 lines)');

  // 5. Ana signs in on the shop's website: the backend signs a short-lived token for her pages, which
  // call recsys.identify('ana', undefined, { token }) so the browser's publishable key may name her.
  const token = signUserToken({ secretKey, userId: 'ana', expiresInSeconds: 3600 });
  console.log(`User token for ana's pages: ${token.slice(0, 12)}… (valid 1 h)`);

  // The engine applies new data within about a second on its own; here we wait for it explicitly:
  // one poll applies every change committed so far, then the new items' embeddings are computed.
  await recsys.engines?.pollOnce();
  await recsys.engines?.drainEmbeddings();

  const show = (heading: string, res: RecsResponse) => {
    console.log(`\n${heading} (requestId ${res.requestId}${res.fallback.used ? ', with fallback' : ''}):`);
    for (const item of res.items) {
      console.log(`  ${item.rank}. ${item.itemId}  ${item.title ?? ''}  €${item.price?.toFixed(2) ?? '?'}`);
    }
  };
  show('Recommended for ana', await api.recs.forUser.query({ userId: 'ana', k: 5 }));
  show('Similar to dripper-v60', await api.recs.similar.query({ itemId: 'dripper-v60', k: 4 }));
  show('Buy again for ana', await api.recs.buyAgain.query({ userId: 'ana', k: 3 }));
  show('For a cart with grinder-burr', await api.recs.cart.query({ itemIds: ['grinder-burr'], k: 3 }));
} finally {
  await recsys.close();
  await rm(dataDir, { recursive: true, force: true });
}
