#!/usr/bin/env node
import { spawn } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';

/**
 * glibc raises its mmap threshold every time a large block is freed; from then on the engine's large
 * buffers (grown by doubling while a namespace loads) come from the main heap, and the holes they
 * leave stay resident: about 110 MB at 100,000 items. A fixed threshold keeps large buffers in their
 * own mappings, returned to the system when freed. glibc reads it only at start-up, so `serve`
 * starts the server as a child with it set (unless it is set already, to any value). This launcher
 * forwards SIGINT, SIGTERM and SIGHUP to it and exits as it does; should the launcher die without
 * forwarding (SIGKILL), the server sees its IPC channel close and shuts down as on SIGTERM.
 */
const command = commandName(process.argv.slice(2));
if (process.platform === 'linux' && command === 'serve' && process.env.MALLOC_MMAP_THRESHOLD_ === undefined) {
  const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, MALLOC_MMAP_THRESHOLD_: '131072', RECSYS_LAUNCHER_PID: String(process.pid) },
  });
  // The channel only tells the server that the launcher is gone; it must not keep the launcher up.
  child.channel?.unref();
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  for (const signal of signals) process.on(signal, () => child.kill(signal));
  child.on('exit', (code, signal) => {
    if (signal) {
      // Die the way the server did, so supervisors see the same outcome.
      for (const s of signals) process.removeAllListeners(s);
      process.kill(process.pid, signal);
    } else {
      process.exit(code ?? 1);
    }
  });
} else {
  // The embedded database is PostgreSQL compiled to WebAssembly. V8 compiles it with its baseline
  // compiler and then recompiles hot functions with TurboFan on background threads, which only pays
  // off in a process that runs for long: measured on a 2-core machine, `namespace list` on the
  // embedded database 2.55 → 1.58 s of CPU, and even a 17 s `seed --dataset movielens` 17.2 → 15.0 s.
  // A server runs for days, so `serve` keeps the optimising tier.
  if (command !== 'serve') setFlagsFromString('--liftoff-only');
  if (process.channel && process.env.RECSYS_LAUNCHER_PID === String(process.ppid)) {
    // Started by the launcher above: it holds no port itself, so when it is gone, so is this server.
    process.channel.unref();
    process.once('disconnect', () => process.kill(process.pid, 'SIGTERM'));
  }
  await runCli();
}

/**
 * Runs the compiled CLI (`pnpm build` writes server/dist), which starts in a fraction of a second.
 * Without a build, or with one older than a source file it was built from, it runs the TypeScript
 * source through tsx instead: slower to start (tsx compiles every module), never stale.
 * `RECSYS_FROM_SOURCE=1` asks for the source (bench/cli.bench.ts compares the two).
 */
async function runCli() {
  const dist = new URL('../dist/', import.meta.url);
  if (process.env.RECSYS_FROM_SOURCE !== '1') {
    const stale = staleBuild(dist);
    if (stale === undefined) return import(new URL('cli.js', dist).href);
    console.error(`recsys: ${stale}; running the TypeScript source (slower start). \`pnpm build\` fixes it.`);
  }
  const { register } = await import('tsx/esm/api');
  register();
  return import('../src/cli/main.ts');
}

/** Why the build in `dist` cannot be used, or undefined when it can. */
function staleBuild(dist) {
  let built;
  let inputs;
  try {
    // Written by tsup at the end of a build (`metafile` in tsup.config.ts); its inputs are
    // relative to the package folder.
    const metafile = new URL('metafile-esm.json', dist);
    built = statSync(metafile).mtimeMs;
    inputs = Object.keys(JSON.parse(readFileSync(metafile, 'utf8')).inputs);
  } catch {
    return 'no build in server/dist';
  }
  const root = new URL('../', import.meta.url);
  for (const input of inputs) {
    const modified = statSync(new URL(input, root), { throwIfNoEntry: false })?.mtimeMs;
    if (modified === undefined || modified > built) return `server/dist is older than ${input}`;
  }
  return undefined;
}

/** The subcommand: the first argument that is neither a global option nor its value. */
function commandName(args) {
  const takesValue = new Set(['--database-url', '--data-dir']);
  for (let i = 0; i < args.length; i++) {
    if (takesValue.has(args[i])) i++;
    else if (!args[i].startsWith('-')) return args[i];
  }
  return undefined;
}
