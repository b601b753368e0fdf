import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const bin = fileURLToPath(new URL('../../bin/recsys.js', import.meta.url));

/** A `recsys serve` process started by {@link startServeProcess}. */
export interface ServeProcess {
  /** The launcher (`bin/recsys.js`); signals sent to it are forwarded to the server. */
  launcher: ChildProcess;
  /** Resolves with the exit code once the launcher has exited. */
  exited: Promise<number | null>;
  /** Every JSON log line so far. */
  logs: Array<Record<string, unknown>>;
  /** The URL from the "listening" log line. */
  url: string;
  /** Whether HTTP is served from a thread of its own (PostgreSQL). */
  httpThread?: boolean;
}

/**
 * Starts `recsys serve --port 0 --embeddings off` and any `args`, as an operator would, and resolves
 * with the URL it listens on once it logs that it serves the API (the port opens before, while the
 * database opens; the engines may still be loading: poll `/readyz`). Rejects if the process exits first. Every process started is added to `started`, for an `afterAll` to stop.
 */
export async function startServeProcess(
  env: Record<string, string | undefined>,
  options: { args?: string[]; started?: ChildProcess[] } = {},
): Promise<ServeProcess> {
  const launcher = spawn(
    process.execPath,
    [bin, 'serve', '--port', '0', '--embeddings', 'off', ...(options.args ?? [])],
    {
      env: { ...process.env, MALLOC_MMAP_THRESHOLD_: undefined, ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  options.started?.push(launcher);
  const logs: Array<Record<string, unknown>> = [];
  const exited = new Promise<number | null>((resolve) => launcher.once('exit', (code) => resolve(code)));
  const listening = await new Promise<{ url: string; httpThread?: boolean }>((resolve, reject) => {
    let first: { url: string; httpThread?: boolean } | undefined;
    let opened = false;
    createInterface({ input: launcher.stdout! }).on('line', (line) => {
      const entry = JSON.parse(line) as { url?: string; httpThread?: boolean; msg?: string };
      logs.push(entry);
      first ??= entry.url ? (entry as { url: string; httpThread?: boolean }) : undefined;
      opened ||= entry.msg === 'serving the API';
      if (first && opened) resolve(first);
    });
    launcher.once('exit', (code) => reject(new Error(`recsys serve exited with ${code}`)));
  });
  return { launcher, exited, logs, ...listening };
}
