/**
 * `events.batch` throughput through the real HTTP endpoint, against PGlite
 * and PostgreSQL, with batches of 500 from concurrent clients; and, in the
 * same run, the rate of a raw PostgreSQL COPY of the same rows.
 *
 *   pnpm --filter @recsys/server bench:ingest
 *
 * PostgreSQL: BENCH_DATABASE_URL, else DATABASE_URL, else
 * postgres://postgres@127.0.0.1:5432/test (a scratch database is created on
 * that server and dropped afterwards).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import postgres from 'postgres';
import { openDatabase } from '../src/db/client';

const BATCH = 500;
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 8);
const DURATION_S = Number(process.env.BENCH_DURATION ?? 10);
const COPY_ROWS = 500_000;
const pgUrl =
  process.env.BENCH_DATABASE_URL ?? process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

const start = Date.now() - 86_400_000;
function eventRow(i: number, runId: string) {
  return {
    eventId: `${runId}-${i}`,
    type: i % 10 === 0 ? 'add' : 'view',
    itemId: `sku-${(i * 7919) % 20_000}`,
    anonymousId: `anon-${i % 5_000}`,
    sessionId: `s-${Math.floor(i / 20)}`,
    ts: new Date(start + i * 10).toISOString(),
    meta: { surface: 'pdp', url: `https://shop.example/p/${i % 20_000}` },
  };
}

async function startServer(databaseUrl: string | undefined, engine = true) {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', fileURLToPath(new URL('./ingestServer.ts', import.meta.url))],
    {
      env: { ...process.env, BENCH_DATABASE_URL: databaseUrl ?? '', BENCH_ENGINE: engine ? 'on' : 'off' },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const line = await new Promise<string>((resolve, reject) => {
    const rl = createInterface({ input: child.stdout! });
    rl.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`bench server exited with ${code}`)));
  });
  return { child, ...(JSON.parse(line) as { url: string; key: string; dataDir?: string; database: string }) };
}

async function stop(child: ChildProcess) {
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

interface LoadResult {
  label: string;
  /** CPU µs per accepted event: the server process, its PostgreSQL backends, this load generator. */
  cpu?: { server: number; postgres: number; load: number } | undefined;
  eventsPerSec: number;
  batchesPerSec: number;
  p50: number;
  p99: number;
  errors: number;
  accepted: number;
}

/** CPU time of a local process in µs (Linux /proc), 0 where it cannot be read. */
function cpuMicros(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10_000; // utime + stime, 100 ticks/s
  } catch {
    return 0;
  }
}

/** The backends connected to `databaseUrl` (PostgreSQL on this machine, as in the benchmark). */
async function backendPids(databaseUrl: string): Promise<number[]> {
  const sql = postgres(pgUrl, { max: 1, onnotice: () => {} });
  const rows = await sql<
    { pid: number }[]
  >`SELECT pid FROM pg_stat_activity WHERE datname = ${new URL(databaseUrl).pathname.slice(1)}`;
  await sql.end();
  return rows.map((r) => r.pid);
}

/**
 * Where the CPU went while `run` ran: the server process, the PostgreSQL backends of its
 * database (connections opened during the run count whole) and this process.
 */
async function measureCpu<T>(serverPid: number, databaseUrl: string | undefined, run: () => Promise<T>) {
  const before = databaseUrl ? await backendPids(databaseUrl) : [];
  const pg0 = before.reduce((a, pid) => a + cpuMicros(pid), 0);
  const server0 = cpuMicros(serverPid);
  const load0 = process.cpuUsage();
  const result = await run();
  const load = process.cpuUsage(load0);
  const after = databaseUrl ? await backendPids(databaseUrl) : [];
  return {
    result,
    micros: {
      server: cpuMicros(serverPid) - server0,
      postgres: after.reduce((a, pid) => a + cpuMicros(pid), 0) - pg0,
      load: load.user + load.system,
    },
  };
}

async function runLoad(
  label: string,
  url: string,
  key: string,
  probe?: { serverPid: number; databaseUrl: string | undefined },
): Promise<LoadResult> {
  const runId = randomBytes(4).toString('hex');
  let next = 0;
  let accepted = 0;
  // Warm-up: JIT, connection pool, first-insert page allocation.
  for (let w = 0; w < 5; w++) {
    const events = Array.from({ length: BATCH }, () => eventRow(next++, runId));
    await fetch(`${url}/trpc/events.batch`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ events }),
    });
  }
  const load = () =>
    autocannon({
      url: `${url}/trpc/events.batch`,
      connections: CONNECTIONS,
      duration: DURATION_S,
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      requests: [
        {
          setupRequest(req) {
            const events = Array.from({ length: BATCH }, () => eventRow(next++, runId));
            return { ...req, body: JSON.stringify({ events }) };
          },
          onResponse(status, body) {
            if (status === 200)
              accepted += (JSON.parse(body) as { result: { data: { accepted: number } } }).result.data
                .accepted;
          },
        },
      ],
    });
  let cpu: LoadResult['cpu'];
  let result: Awaited<ReturnType<typeof load>>;
  if (probe) {
    const measured = await measureCpu(probe.serverPid, probe.databaseUrl, load);
    result = measured.result;
    const per = (us: number) => us / Math.max(1, accepted);
    cpu = {
      server: per(measured.micros.server),
      postgres: per(measured.micros.postgres),
      load: per(measured.micros.load),
    };
  } else {
    result = await load();
  }
  const ok = result['2xx'];
  return {
    label,
    eventsPerSec: accepted / DURATION_S,
    batchesPerSec: ok / DURATION_S,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.non2xx,
    accepted,
    cpu,
  };
}

/** Rows really in the events table: the figure is only reported if they are all there. */
async function countStored(target: { databaseUrl: string } | { dataDir: string }) {
  if ('dataDir' in target) {
    const database = await openDatabase({ dataDir: target.dataDir });
    const [row] = await database.query<{ n: number }>('SELECT count(*)::int AS n FROM events');
    await database.close();
    rmSync(target.dataDir, { recursive: true, force: true });
    return row?.n ?? 0;
  }
  const sql = postgres(target.databaseUrl, { max: 1, onnotice: () => {} });
  const [row] = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM events`;
  await sql.end();
  return row?.n ?? 0;
}

async function copyRate(databaseUrl: string) {
  const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} });
  await sql`CREATE TABLE events_copy (LIKE events INCLUDING ALL)`;
  const runId = randomBytes(4).toString('hex');
  const received = new Date().toISOString();
  let i = 0;
  const rows = Readable.from(
    (function* () {
      while (i < COPY_ROWS) {
        let chunk = '';
        for (let j = 0; j < 1_000 && i < COPY_ROWS; j++, i++) {
          const e = eventRow(i, runId);
          chunk += `bench\t${e.eventId}\t${e.type}\t${e.itemId}\t\\N\t${e.anonymousId}\t${e.sessionId}\t${e.ts}\t\\N\t${received}\t\\N\t${JSON.stringify(e.meta)}\n`;
        }
        yield chunk;
      }
    })(),
  );
  const [backend] = await sql<{ pid: number }[]>`SELECT pg_backend_pid() AS pid`;
  const cpu0 = cpuMicros(backend!.pid);
  const t0 = performance.now();
  const writable =
    await sql`COPY events_copy (namespace_id, event_id, type, item_id, user_id, anonymous_id, session_id, ts, client_ts, received_at, value, meta) FROM STDIN`.writable();
  await pipeline(rows, writable);
  const seconds = (performance.now() - t0) / 1000;
  const cpu = cpuMicros(backend!.pid) - cpu0;
  const [row] = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM events_copy`;
  await sql.end();
  return {
    rowsPerSec: (row?.n ?? 0) / seconds,
    rows: row?.n ?? 0,
    postgresMicrosPerRow: cpu / (row?.n || 1),
  };
}

async function scratchDatabase(): Promise<{ url: string; drop(): Promise<void> } | undefined> {
  const admin = postgres(pgUrl, { max: 1, onnotice: () => {}, connect_timeout: 5 });
  try {
    const name = `recsys_bench_${randomBytes(4).toString('hex')}`;
    await admin.unsafe(`CREATE DATABASE ${name}`);
    const url = new URL(pgUrl);
    url.pathname = `/${name}`;
    return {
      url: url.toString(),
      async drop() {
        await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        await admin.end();
      },
    };
  } catch (error) {
    await admin.end({ timeout: 1 });
    console.log(`PostgreSQL at ${pgUrl} unreachable (${(error as Error).message}); skipping its rows.`);
    return undefined;
  }
}

const fmt = (n: number, d = 0) =>
  n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });

const results: LoadResult[] = [];
console.log(
  `events.batch over HTTP: batches of ${BATCH}, ${CONNECTIONS} concurrent clients, ${DURATION_S} s per target`,
);
console.log(
  '(server in its own process, load from this one; "no engine" = an ingestion-only `recsys serve --no-engine`)\n',
);

{
  const srv = await startServer(undefined);
  try {
    results.push(await runLoad('PGlite (on disk)', srv.url, srv.key));
  } finally {
    await stop(srv.child);
  }
  const stored = await countStored({ dataDir: srv.dataDir! });
  const accepted = results[0]!.accepted;
  if (stored < accepted) throw new Error(`PGlite: accepted ${accepted} but only ${stored} rows stored`);
}

const scratch = await scratchDatabase();
let copy: Awaited<ReturnType<typeof copyRate>> | undefined;
if (scratch) {
  try {
    // Full server (engine host applying every event) and an ingestion-only
    // process (`recsys serve --no-engine`), on the same database.
    for (const engine of [true, false]) {
      const srv = await startServer(scratch.url, engine);
      try {
        const r = await runLoad(engine ? 'PostgreSQL' : 'PostgreSQL, no engine', srv.url, srv.key, {
          serverPid: srv.child.pid!,
          databaseUrl: scratch.url,
        });
        results.push(r);
      } finally {
        await stop(srv.child);
      }
    }
    const stored = await countStored({ databaseUrl: scratch.url });
    const accepted = results
      .filter((r) => r.label.startsWith('PostgreSQL'))
      .reduce((a, r) => a + r.accepted, 0);
    if (stored < accepted) throw new Error(`accepted ${accepted} but only ${stored} rows stored`);
    copy = await copyRate(scratch.url);
  } finally {
    await scratch.drop();
  }
}

console.log(`${'target'.padEnd(24)} events/s   batches/s   p50 ms   p99 ms   errors`);
for (const r of results) {
  console.log(
    `${r.label.padEnd(24)} ${fmt(r.eventsPerSec).padStart(8)} ${fmt(r.batchesPerSec, 1).padStart(11)} ${fmt(r.p50, 1).padStart(8)} ${fmt(r.p99, 1).padStart(8)} ${String(r.errors).padStart(8)}`,
  );
}
console.log('\nCPU per accepted event (µs): server process / its PostgreSQL backends / load generator');
for (const r of results) {
  if (r.cpu) {
    console.log(
      `${r.label.padEnd(24)} ${fmt(r.cpu.server, 1).padStart(6)} / ${fmt(r.cpu.postgres, 1).padStart(6)} / ${fmt(r.cpu.load, 1).padStart(6)}`,
    );
  }
}
if (copy) {
  console.log(
    `\nraw COPY of ${fmt(copy.rows)} identical rows into a table shaped like events (same indexes): ${fmt(copy.rowsPerSec)} rows/s, ${fmt(copy.postgresMicrosPerRow, 1)} µs of PostgreSQL CPU per row`,
  );
  for (const r of results.filter((x) => x.label.startsWith('PostgreSQL'))) {
    console.log(
      `${r.label}: events.batch / COPY = ${fmt(r.eventsPerSec / copy.rowsPerSec, 2)}; target ≥ 25,000 events/s ${r.eventsPerSec >= 25_000 ? 'met' : 'NOT met'}`,
    );
  }
}
