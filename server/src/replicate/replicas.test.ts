import type { ChildProcess } from 'node:child_process';
import { spawnSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey, createNamespace } from '../auth/namespaces';
import type { Database } from '../db/client';
import { createClient, getTestDatabaseTargets, itemIds, viewNow } from '../testing';
import { type ServeProcess, startServeProcess } from '../testing/serveProcess';

const postgres = getTestDatabaseTargets().find((t) => t.name === 'postgres');
const started: ChildProcess[] = [];

/**
 * The load balancer of the README's "Running at scale", in a few lines: round robin over the
 * replicas, and a request a replica cannot take (connection refused, or 503: still loading, or the
 * namespace placed elsewhere) goes to the next one — what nginx's `proxy_next_upstream error
 * http_503` does.
 */
async function startBalancer(upstreams: string[]) {
  let next = 0;
  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = chunks.length > 0 ? Buffer.concat(chunks) : undefined;
    const headers = new Headers();
    for (const [name, value] of Object.entries(req.headers)) {
      const hopByHop = ['host', 'connection', 'content-length', 'transfer-encoding'].includes(name);
      if (typeof value === 'string' && !hopByHop) headers.set(name, value);
    }
    let last: Response | undefined;
    const first = next++;
    for (let tried = 0; tried < upstreams.length; tried++) {
      const upstream = upstreams[(first + tried) % upstreams.length]!;
      try {
        last = await fetch(`${upstream}${req.url}`, {
          method: req.method!,
          headers,
          ...(body && req.method !== 'GET' ? { body } : {}),
        });
      } catch {
        continue; // down: the next one
      }
      if (last.status !== 503) break;
    }
    if (!last) {
      res.writeHead(502).end('no replica answered');
      return;
    }
    res.writeHead(last.status, { 'content-type': last.headers.get('content-type') ?? 'text/plain' });
    res.end(Buffer.from(await last.arrayBuffer()));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    upstreams,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function ready(replica: ServeProcess) {
  await expect
    .poll(async () => (await fetch(`${replica.url}/readyz`)).status, { timeout: 120_000, interval: 100 })
    .toBe(200);
}

async function stop(replica: ServeProcess) {
  replica.launcher.kill('SIGTERM');
  expect(await replica.exited).toBe(0);
}

describe.skipIf(!postgres)('several `recsys serve` replicas behind a load balancer on one PostgreSQL', () => {
  let database: Database & { drop(): Promise<void>; url?: string };
  let key: string;
  const env = () => ({ DATABASE_URL: database.url, RECSYS_JOBS: 'off' });

  beforeAll(async () => {
    database = await postgres!.open();
    await createNamespace(database, 'shop');
    ({ key } = await createApiKey(database, 'shop', { kind: 'secret' }));
  });
  afterAll(async () => {
    for (const launcher of started) if (launcher.exitCode === null) launcher.kill('SIGTERM');
    await database?.drop();
  });

  it('spreads requests, shows events sent to one replica on the others, and a restarted replica rejoins without a gap', async () => {
    const one = await startServeProcess(env(), { started });
    let two = await startServeProcess(env(), { started });
    await Promise.all([ready(one), ready(two)]);
    const balancer = await startBalancer([one.url, two.url]);
    try {
      const viaBalancer = createClient(balancer.url, key);
      await viaBalancer.items.upsert.mutate({
        items: ['kettle', 'teapot', 'mug', 'cup'].map((itemId) => ({ itemId, title: itemId })),
      });

      // An event taken by replica one is in replica two's lists (each polls the database).
      await createClient(one.url, key).events.batch.mutate({
        events: [viewNow('e-1', 'kettle', 'visitor-1')],
      });
      const sent = performance.now();
      const onTwo = createClient(two.url, key);
      await expect
        .poll(
          async () => itemIds(await onTwo.recs.recentlyViewed.query({ anonymousId: 'visitor-1', k: 3 })),
          {
            timeout: 60_000,
            interval: 20,
          },
        )
        .toEqual(['kettle']);
      // The figure, for whoever reads the log; the bound is the poll interval (500 ms) plus a read.
      console.info(
        `event on replica one seen by replica two after ${Math.round(performance.now() - sent)} ms`,
      );

      // Both replicas answer through the balancer, and agree — once replica one has applied the event
      // too: a write there only nudges its poll, it does not apply the event before answering.
      const onOne = createClient(one.url, key);
      await expect
        .poll(
          async () => itemIds(await onOne.recs.recentlyViewed.query({ anonymousId: 'visitor-1', k: 3 })),
          {
            timeout: 60_000,
            interval: 20,
          },
        )
        .toEqual(['kettle']);
      const served = await Promise.all(
        [1, 2, 3, 4].map(() => viaBalancer.recs.recentlyViewed.query({ anonymousId: 'visitor-1', k: 3 })),
      );
      for (const list of served) expect(itemIds(list)).toEqual(['kettle']);

      // Replica two goes down; the balancer sends everything to replica one, nothing is refused.
      await stop(two);
      const during = ['teapot', 'mug', 'cup'].map((itemId, i) => viewNow(`gap-${i}`, itemId, 'visitor-2'));
      for (const event of during) {
        expect((await viaBalancer.events.batch.mutate({ events: [event] })).accepted).toBe(1);
      }

      // Restarted, it loads what was accepted while it was down before it says ready.
      two = await startServeProcess(env(), { started });
      balancer.upstreams[1] = two.url;
      await ready(two);
      const list = await createClient(two.url, key).recs.recentlyViewed.query({
        anonymousId: 'visitor-2',
        k: 5,
      });
      expect(itemIds(list).sort()).toEqual(['cup', 'mug', 'teapot']);
    } finally {
      await balancer.close();
      await Promise.all([stop(one), stop(two)]);
    }
  }, 300_000);

  it('keeps a namespace on its own pool: another replica answers its lists with 503, and the balancer finds the pool', async () => {
    const pool = await startServeProcess(env(), { started, args: ['--namespaces', 'shop'] });
    const others = await startServeProcess(env(), { started, args: ['--namespaces', 'small-1,small-2'] });
    await Promise.all([ready(pool), ready(others)]);
    const balancer = await startBalancer([others.url, pool.url]);
    try {
      expect(pool.logs.find((l) => l.msg === 'engines hold a share of the namespaces')).toMatchObject({
        placement: 'namespaces shop',
      });
      await expect(createClient(others.url, key).recs.trending.query({ k: 3 })).rejects.toMatchObject({
        data: { httpStatus: 503 },
        message: expect.stringContaining('Namespace "shop" is served by other replicas'),
      });
      // Events are accepted by any replica: they only go to the database.
      const accepted = await createClient(others.url, key).events.batch.mutate({
        events: [viewNow('placed-1', 'kettle', 'visitor-3')],
      });
      expect(accepted.accepted).toBe(1);
      const viaBalancer = createClient(balancer.url, key);
      await expect
        .poll(
          async () =>
            itemIds(await viaBalancer.recs.recentlyViewed.query({ anonymousId: 'visitor-3', k: 3 })),
          {
            timeout: 60_000,
            interval: 50,
          },
        )
        .toEqual(['kettle']);
    } finally {
      await balancer.close();
      await Promise.all([stop(pool), stop(others)]);
    }
  }, 300_000);

  it('refuses a placement it cannot read before starting anything', () => {
    const bin = fileURLToPath(new URL('../../bin/recsys.js', import.meta.url));
    const run = spawnSync(process.execPath, [bin, 'serve', '--port', '0', '--shard', '0/2'], {
      env: { ...process.env, ...env() },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('error: --shard: "0/2" is not <this shard>/<shards>, counted from 1');
  });
});
