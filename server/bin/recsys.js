#!/usr/bin/env node
import { spawn } from 'node:child_process';
// The CLI is TypeScript; tsx compiles it on the fly so no build step is needed.
import { register } from 'tsx/esm/api';

/**
 * glibc raises its mmap threshold every time a large block is freed; from then on the engine's large
 * buffers (grown by doubling while a namespace loads) come from the main heap, and the holes they
 * leave stay resident: about 110 MB at 100,000 items. A fixed threshold keeps large buffers in their
 * own mappings, returned to the system when freed. glibc reads it only at start-up, so `serve`
 * starts the server as a child with it set (unless it is set already, to any value).
 */
const command = commandName(process.argv.slice(2));
if (process.platform === 'linux' && command === 'serve' && process.env.MALLOC_MMAP_THRESHOLD_ === undefined) {
  const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    stdio: 'inherit',
    env: { ...process.env, MALLOC_MMAP_THRESHOLD_: '131072' },
  });
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
  register();
  await import('../src/cli/main.ts');
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
