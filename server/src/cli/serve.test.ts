import type { ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createApiKey, createNamespace } from '../auth/namespaces';
import { createClient, getTestDatabaseTargets } from '../testing';
import { startServeProcess } from '../testing/serveProcess';

const dataDir = mkdtempSync(join(tmpdir(), 'recsys-serve-'));
/** A stand-in for the built widgets bundle (`RECSYS_BUNDLE_DIRS`). */
const bundleDir = mkdtempSync(join(tmpdir(), 'recsys-serve-bundles-'));
const bundle = 'window.recsysServeTest = 1;\n';
writeFileSync(join(bundleDir, 'recsys-full.js'), bundle);
const postgres = getTestDatabaseTargets().find((t) => t.name === 'postgres');
/** Every launcher started, so a failed test does not leave a server running. */
const started: ChildProcess[] = [];

/** Starts `recsys serve` with `env`; resolves with its URL, the log line that gave it, and its exit. */
const serve = (env: Record<string, string | undefined>) => startServeProcess(env, { started });

/** The pid of the server the launcher started (Linux: it is the launcher's only child). */
function serverPidOf(launcher: ChildProcess): number {
  const pid = launcher.pid!;
  return Number(readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(' ')[0]);
}

/** Whether a process runs (a zombie that nobody reaped has ended). */
function isRunning(pid: number): boolean {
  const stat = `/proc/${pid}/stat`;
  return existsSync(stat) && !/^\d+ \(.*\) Z/.test(readFileSync(stat, 'utf8'));
}

describe('recsys serve', () => {
  afterAll(() => {
    for (const launcher of started) if (launcher.exitCode === null) launcher.kill('SIGTERM'); // forwarded to the server
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(bundleDir, { recursive: true, force: true });
  });

  it('logs the pinned script tag of each browser bundle and serves the bundle at that URL', async () => {
    const { launcher, exited, logs } = await serve({
      DATABASE_URL: '',
      RECSYS_DATA_DIR: 'memory://',
      RECSYS_BUNDLE_DIRS: bundleDir,
    });
    try {
      await expect
        .poll(() => logs.find((l) => l.msg === 'browser bundle'), { timeout: 240_000 })
        .toBeTruthy();
      const printed = logs.find((l) => l.msg === 'browser bundle') as {
        src: string;
        integrity: string;
        tag: string;
      };
      expect(printed.integrity).toBe(`sha384-${createHash('sha384').update(bundle).digest('base64')}`);
      expect(printed.tag).toContain(
        `src="${printed.src}" integrity="${printed.integrity}" crossorigin="anonymous"`,
      );
      const res = await fetch(printed.src);
      expect(res.status).toBe(200);
      expect(res.headers.get('cache-control')).toContain('immutable');
      expect(await res.text()).toBe(bundle);
    } finally {
      launcher.kill('SIGTERM');
      await exited;
    }
  });

  it('serves with a fixed malloc mmap threshold, and stops cleanly on SIGTERM', async () => {
    const { launcher, exited, url, httpThread } = await serve({ DATABASE_URL: '', RECSYS_DATA_DIR: dataDir });
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    // The embedded database lives in one thread: HTTP is served from it too.
    expect(httpThread).toBeUndefined();

    if (process.platform === 'linux') {
      // The server runs as the launcher's child with glibc's mmap threshold fixed (see bin/recsys.js).
      const environ = readFileSync(`/proc/${serverPidOf(launcher)}/environ`, 'utf8').split('\0');
      expect(environ).toContain('MALLOC_MMAP_THRESHOLD_=131072');
    }

    launcher.kill('SIGTERM');
    expect(await exited).toBe(0);
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();
  });

  it.runIf(process.platform === 'linux')(
    'stops the server and frees the port when the launcher is killed without forwarding (SIGKILL)',
    async () => {
      const { launcher, exited, url } = await serve({ DATABASE_URL: '', RECSYS_DATA_DIR: 'memory://' });
      const serverPid = serverPidOf(launcher);
      try {
        launcher.kill('SIGKILL');
        await exited;
        // The server sees the launcher's IPC channel close and shuts down as on SIGTERM.
        await expect.poll(() => isRunning(serverPid), { timeout: 240_000, interval: 50 }).toBe(false);
        await expect(fetch(`${url}/healthz`)).rejects.toThrow();
      } finally {
        if (isRunning(serverPid)) process.kill(serverPid, 'SIGKILL');
      }
    },
    // Two process starts and a shutdown: on a loaded 2-core machine that has taken over a minute.
    180_000,
  );

  it.skipIf(!postgres)(
    'on PostgreSQL serves HTTP from a thread of its own, recommendations included, and stops on SIGTERM',
    async () => {
      const database = await postgres!.open();
      try {
        await createNamespace(database, 'shop');
        const { key } = await createApiKey(database, 'shop', { kind: 'secret' });
        const { launcher, exited, url, httpThread } = await serve({
          DATABASE_URL: database.url,
          RECSYS_BUNDLE_DIRS: bundleDir,
          RECSYS_JOBS: 'trace-retention=* * * * * *;rec-log-retention=off',
        });
        expect(httpThread).toBe(true);
        // The HTTP thread serves the bundles, the REST routes and the API reference too.
        expect(await (await fetch(`${url}/static/recsys-full.js`)).text()).toBe(bundle);
        expect((await fetch(`${url}/openapi.json`)).status).toBe(200);
        // The port opens before the engines load: ready once they have.
        await expect
          .poll(async () => (await fetch(`${url}/readyz`)).status, { timeout: 120_000, interval: 100 })
          .toBe(200);
        const client = createClient(url, key);
        const list = await client.recs.trending.query({ k: 2 });
        expect(list.requestId).toMatch(/^[0-9a-f-]{36}$/);
        // The scheduler runs on the engine thread with RECSYS_JOBS's schedules; the HTTP thread lists them.
        const jobs = await client.admin.jobs.list.query();
        expect(jobs.map((j) => [j.name, j.schedule])).toEqual([
          ['guardrails', '*/5 * * * *'],
          ['trace-retention', '* * * * * *'],
          ['rec-log-retention', null],
          ['bandit-reallocate', '*/30 * * * *'],
          ['bundle-backfill', '20 0 * * *'],
        ]);
        await expect
          .poll(
            async () =>
              (await client.admin.jobs.history.query({ job: 'trace-retention' })).filter(
                (r) => r.trigger === 'schedule' && r.outcome === 'ok',
              ).length,
            { timeout: 240_000, interval: 200 },
          )
          .toBeGreaterThanOrEqual(2);
        launcher.kill('SIGTERM');
        expect(await exited).toBe(0);
        await expect(fetch(`${url}/healthz`)).rejects.toThrow();
      } finally {
        await database.drop();
      }
    },
    240_000,
  );
});
