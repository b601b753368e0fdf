/**
 * Start-up time of the `recsys` CLI (bin/recsys.js): `--help`, a subcommand's help, a command that
 * opens the embedded database (`namespace list` on a migrated PGlite folder), and `serve` until it
 * listens. Each from the compiled build (server/dist, built first) and from the TypeScript source
 * through tsx (`RECSYS_FROM_SOURCE=1`), with tsx's compile cache warm and disabled. Median of the
 * runs, wall time of a fresh process each.
 *
 *   pnpm --filter @recsys/server bench:cli
 *
 * BENCH_RUNS sets the runs per case (default 5).
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const server = fileURLToPath(new URL('..', import.meta.url));
const bin = join(server, 'bin/recsys.js');
const dataDir = mkdtempSync(join(tmpdir(), 'recsys-cli-bench-'));
const baseEnv = { ...process.env, DATABASE_URL: '', RECSYS_DATA_DIR: dataDir, LOG_LEVEL: 'info' };

const modes = {
  dist: {},
  'source, tsx cache warm': { RECSYS_FROM_SOURCE: '1' },
  'source, tsx cache off': { RECSYS_FROM_SOURCE: '1', TSX_DISABLE_CACHE: '1' },
} satisfies Record<string, Record<string, string>>;

/** Wall time of one run to exit, in ms; fails on a non-zero exit or a stale-build note. */
function timeToExit(args: string[], env: Record<string, string>): Promise<number> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], {
      env: { ...baseEnv, ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.once('exit', (code) => {
      const ms = performance.now() - started;
      if (code !== 0) reject(new Error(`recsys ${args.join(' ')} exited with ${code}: ${stderr}`));
      else if (!env.RECSYS_FROM_SOURCE && stderr.includes('running the TypeScript source'))
        reject(new Error(`the build is stale: ${stderr}`));
      else resolve(ms);
    });
  });
}

/** Wall time of `recsys serve` until it logs that it listens; then it is stopped. */
function timeToListen(env: Record<string, string>): Promise<number> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, 'serve', '--port', '0', '--embeddings', 'off'], {
      env: { ...baseEnv, ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let ms: number | undefined;
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (ms === undefined && line.includes('recsys listening')) {
        ms = performance.now() - started;
        child.kill('SIGTERM');
      }
    });
    child.once('exit', (code) =>
      ms === undefined ? reject(new Error(`recsys serve exited with ${code}`)) : resolve(ms),
    );
  });
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

const cases: Array<[string, (env: Record<string, string>) => Promise<number>]> = [
  ['recsys --help', (env) => timeToExit(['--help'], env)],
  ['recsys config show --help', (env) => timeToExit(['config', 'show', '--help'], env)],
  ['recsys namespace list (PGlite)', (env) => timeToExit(['namespace', 'list'], env)],
  ['recsys serve until listening', timeToListen],
];

try {
  execFileSync('pnpm', ['run', 'build'], { cwd: server, stdio: 'ignore' });
  // Creates and migrates the embedded database, so that the runs time start-up, not set-up.
  await timeToExit(['migrate'], {});
  console.log(`recsys CLI start-up, median of ${RUNS} runs (ms; min–max)\n`);
  console.log(
    `${'command'.padEnd(32)}${Object.keys(modes)
      .map((m) => m.padStart(26))
      .join('')}`,
  );
  for (const [name, run] of cases) {
    const cells: string[] = [];
    for (const env of Object.values(modes)) {
      const times: number[] = [];
      for (let i = 0; i < RUNS; i++) times.push(await run(env));
      const cell = `${Math.round(median(times))} (${Math.round(Math.min(...times))}–${Math.round(Math.max(...times))})`;
      cells.push(cell.padStart(26));
    }
    console.log(`${name.padEnd(32)}${cells.join('')}`);
  }
} finally {
  rmSync(dataDir, { recursive: true, force: true });
}
