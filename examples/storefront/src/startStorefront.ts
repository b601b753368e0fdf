import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { createNodeClient, signUserToken } from '@recsys/sdk/node';
import {
  type AppRouter,
  addOperator,
  createApiKey,
  createLogger,
  createNamespace,
  type EmbeddingsSetting,
  getNamespace,
  type Logger,
  listOperators,
  type RunningRecsys,
  startRecsys,
} from '@recsys/server';
import { ensureWidgetBundle } from './bundle';
import { type Catalog, loadCatalog, type RecsysApi } from './catalog';
import { createShopHandler, STATIC_DIR } from './handler';
import type { DemoUser } from './pages';
import { type DemoSeedOptions, seedDemoNamespace } from './seed';
import { type RunningShoppers, type ShopperOptions, startShoppers } from './shoppers';

/** Options of {@link startStorefront}. */
export interface StorefrontOptions {
  /**
   * Port of the shop and the Recsys API (one process, one origin). 0 picks a free port.
   * @default 8080
   * @example 0
   */
  port?: number;
  /**
   * Interface to listen on.
   * @default '127.0.0.1'
   * @example '0.0.0.0'
   */
  host?: string;
  /**
   * Folder for the embedded database (`<dataDir>/pglite`) and the demo's keys (`<dataDir>/demo.json`).
   * @default '.data'
   * @example '/tmp/recsys-demo'
   */
  dataDir?: string;
  /**
   * PostgreSQL instead of the embedded database.
   * @default process.env.DATABASE_URL
   * @example 'postgres://localhost/recsys'
   */
  databaseUrl?: string | null;
  /**
   * Namespace holding the demo catalog.
   * @default 'demo'
   * @example 'demo-2'
   */
  namespace?: string;
  /**
   * Size and seed of the synthetic shop created when the namespace is empty.
   * @default { seed: 42, items: 2000, events: 30000, days: 60 }
   * @example { items: 500, events: 5000 }
   */
  seed?: DemoSeedOptions;
  /**
   * Text embedding model for similar items.
   * @default { kind: 'builtin' }
   * @example { kind: 'off' }
   */
  embeddings?: EmbeddingsSetting;
  /**
   * How often the engine picks up new events.
   * @default 500
   * @example 200
   */
  pollIntervalMs?: number;
  /**
   * Server logs.
   * @default createLogger({ level: process.env.LOG_LEVEL ?? 'warn' })
   * @example createLogger({ level: 'info' })
   */
  logger?: Logger;
  /**
   * Build the widget bundle when it is missing (a fresh clone).
   * @default true
   * @example false
   */
  buildBundles?: boolean;
  /**
   * Simulated shoppers (`shoppers.ts`): visits through the API that request widgets' lists and send
   * impressions, clicks, adds and purchases attributed to them, so the admin console's charts have
   * data before anyone browses. `pnpm start` turns them on; tests leave them off, because they
   * change the lists.
   * @default false
   * @example { burst: 120, everyMs: 5000 }
   */
  shoppers?: ShopperOptions | false;
  /**
   * Progress lines ("seeding…", "computing item embeddings…").
   * @default () => {} (silent)
   * @example (line) => console.log(line)
   */
  onProgress?: (line: string) => void;
}

export interface RunningStorefront {
  /** The shop's home page, e.g. `http://127.0.0.1:8080`. */
  url: string;
  /** Every origin the publishable key accepts (localhost and 127.0.0.1). */
  origins: string[];
  namespaceId: string;
  publishableKey: string;
  /** The shop backend's secret key (catalog, orders). */
  secretKey: string;
  /** Typed tRPC client authenticated with the secret key. */
  api: RecsysApi;
  catalog: Catalog;
  /** The Recsys server, database and engines running underneath. */
  recsys: RunningRecsys;
  /** True when this start created the demo data. */
  seeded: boolean;
  /** The admin console and the demo operator (role admin) this start made sure exists. */
  console: { url: string; namespace: string; name: string; password: string };
  /** The simulated shoppers, when `shoppers` was given. */
  shoppers?: RunningShoppers;
  close(): Promise<void>;
}

interface DemoState {
  namespaceId: string;
  secretKey?: string;
  /** Publishable key per set of allowed origins (space-separated). */
  publishableKeys?: Record<string, string>;
  /** The demo admin's console password (operators are stored with scrypt hashes only). */
  consolePassword?: string;
  seededAt?: string;
}

async function readState(file: string, namespaceId: string): Promise<DemoState> {
  try {
    const state = JSON.parse(await readFile(file, 'utf8')) as DemoState;
    if (state.namespaceId === namespaceId) return state;
  } catch {
    // Missing or unreadable: start over; keys are recreated below.
  }
  return { namespaceId };
}

async function writeState(file: string, state: DemoState) {
  // Write then rename, so a crash never leaves half a file with the keys.
  await writeFile(`${file}.tmp`, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
  await rename(`${file}.tmp`, file);
}

function startingPage(res: ServerResponse) {
  res.writeHead(503, { 'content-type': 'text/html; charset=utf-8', 'retry-after': '3' });
  res.end(
    '<!doctype html><html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="3"><title>Starting…</title></head><body><main><h1>The demo shop is starting</h1><p>Seeding the catalog and computing item embeddings; this page reloads by itself.</p></main></body></html>',
  );
}

async function pickDemoUsers(api: RecsysApi, count: number): Promise<DemoUser[]> {
  const purchases = await api.events.list.query({ type: 'purchase', limit: 1000 });
  const orders = new Map<string, number>();
  for (const e of purchases.events) if (e.userId) orders.set(e.userId, (orders.get(e.userId) ?? 0) + 1);
  const top = [...orders].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).slice(0, count);
  return Promise.all(
    top.map(async ([userId, n]) => {
      const user = await api.users.get.query({ userId }).catch(() => undefined);
      const traits = (user && 'traits' in user ? user.traits : {}) as Record<string, unknown>;
      return { userId, traits, orders: n };
    }),
  );
}

/**
 * Starts the whole demo in one process: the Recsys server (migrating the
 * embedded database), the demo namespace (seeded on first start), its keys
 * (kept in `<dataDir>/demo.json` because keys are stored hashed), the item
 * embeddings, and the shop pages served from the same origin. What
 * `pnpm start` and the browser tests run.
 * @example
 * const shop = await startStorefront({ port: 0, dataDir: '/tmp/demo' });
 * console.log(shop.url);
 * await shop.close();
 */
export async function startStorefront(options: StorefrontOptions = {}): Promise<RunningStorefront> {
  const progress = options.onProgress ?? (() => {});
  const bundle = ensureWidgetBundle({ build: options.buildBundles ?? true, log: progress });
  const dataDir = options.dataDir ?? process.env.RECSYS_DATA_DIR ?? '.data';
  const namespaceId = options.namespace ?? 'demo';
  await mkdir(dataDir, { recursive: true });
  const stateFile = join(dataDir, 'demo.json');
  const state = await readState(stateFile, namespaceId);

  let shop: ((req: IncomingMessage, res: ServerResponse) => Promise<boolean>) | undefined;
  const recsys = await startRecsys({
    databaseUrl: options.databaseUrl,
    dataDir: join(dataDir, 'pglite'),
    port: options.port ?? 8080,
    host: options.host ?? '127.0.0.1',
    logger: options.logger ?? createLogger({ level: process.env.LOG_LEVEL ?? 'warn' }),
    ...(options.embeddings ? { embeddings: options.embeddings } : {}),
    ...(options.pollIntervalMs ? { pollIntervalMs: options.pollIntervalMs } : {}),
    fallback: (req, res) => {
      if (shop) return shop(req, res);
      startingPage(res);
      return true;
    },
  });
  try {
    const { database } = recsys;
    const port = new URL(recsys.url).port;
    const origins = [`http://localhost:${port}`, `http://127.0.0.1:${port}`];
    const host = options.host ?? '127.0.0.1';
    if (!['127.0.0.1', 'localhost', '0.0.0.0', '::'].includes(host)) origins.push(`http://${host}:${port}`);

    let seeded = false;
    if (!(await getNamespace(database, namespaceId))) {
      await createNamespace(database, namespaceId, 'Demo storefront');
      // A new namespace (e.g. a new database behind an old data dir) makes old keys meaningless.
      delete state.secretKey;
      delete state.publishableKeys;
      delete state.seededAt;
    }
    if (!state.seededAt) {
      progress('Seeding the demo shop (first start only) …');
      const counts = await seedDemoNamespace(database, namespaceId, options.seed);
      progress(`Seeded ${counts.items} products, ${counts.users} customers, ${counts.events} events.`);
      state.seededAt = new Date().toISOString();
      seeded = true;
    }

    const endpoint = recsys.url;
    let api: RecsysApi | undefined;
    if (state.secretKey) {
      const candidate = createNodeClient<AppRouter>({ endpoint, secretKey: state.secretKey });
      const works = await candidate.items.list.query({ limit: 1 }).then(
        () => true,
        () => false,
      );
      if (works) api = candidate;
      else {
        delete state.secretKey;
        delete state.publishableKeys;
      }
    }
    if (!api || !state.secretKey) {
      state.secretKey = (
        await createApiKey(database, namespaceId, { kind: 'secret', label: 'demo storefront backend' })
      ).key;
      api = createNodeClient<AppRouter>({ endpoint, secretKey: state.secretKey });
    }
    const secretKey = state.secretKey;
    const originsKey = origins.join(' ');
    state.publishableKeys ??= {};
    let publishableKey = state.publishableKeys[originsKey];
    if (!publishableKey) {
      publishableKey = (
        await createApiKey(database, namespaceId, {
          kind: 'publishable',
          allowedOrigins: origins,
          label: 'demo storefront pages',
        })
      ).key;
      state.publishableKeys[originsKey] = publishableKey;
    }
    // A demo operator for the admin console; the password is kept beside the keys, like them.
    const consoleName = 'demo-admin';
    const operators = await listOperators(database, namespaceId);
    if (!state.consolePassword || !operators.some((o) => o.name === consoleName && o.role === 'admin')) {
      state.consolePassword = randomBytes(18).toString('base64url');
      await addOperator(database, namespaceId, {
        name: consoleName,
        role: 'admin',
        password: state.consolePassword,
        replace: true,
      });
    }
    const consolePassword = state.consolePassword;
    await writeState(stateFile, state);

    progress('Computing item embeddings …');
    await recsys.engines?.pollOnce();
    await recsys.engines?.drainEmbeddings(180_000);

    const catalog = await loadCatalog(api);
    const demoUsers = await pickDemoUsers(api, 8);
    const key = publishableKey;
    shop = createShopHandler({
      catalog,
      api,
      demoUsers,
      keyForOrigin: (origin) => (origins.includes(origin) ? key : undefined),
      // the shop's backend proves who is signed in: a short-lived token per page, signed with its secret key
      signUserToken: (userId) => signUserToken({ secretKey, userId, expiresInSeconds: 3600 }),
      staticFiles: {
        'recsys-full.js': bundle,
        'shop.js': join(STATIC_DIR, 'shop.js'),
        'shop.css': join(STATIC_DIR, 'shop.css'),
        'favicon.svg': join(STATIC_DIR, 'favicon.svg'),
      },
    });
    const shoppers = options.shoppers
      ? startShoppers(api, catalog, { userIds: demoUsers.map((u) => u.userId), ...options.shoppers })
      : undefined;
    return {
      url: `http://127.0.0.1:${port}`,
      origins,
      namespaceId,
      publishableKey,
      secretKey,
      api,
      catalog,
      recsys,
      seeded,
      console: {
        url: `http://127.0.0.1:${port}/admin/`,
        namespace: namespaceId,
        name: consoleName,
        password: consolePassword,
      },
      ...(shoppers ? { shoppers } : {}),
      close: async () => {
        await shoppers?.stop();
        await recsys.close();
      },
    };
  } catch (error) {
    await recsys.close();
    throw error;
  }
}
