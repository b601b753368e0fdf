import { MessageChannel, type MessagePort, Worker } from 'node:worker_threads';
import type { DatabaseTimeouts } from '../../db/client';
import type { JobSchedules } from '../../jobs/schedules';
import type { Placement } from '../../replicate/placement';
import type { EngineService } from '../../serve/EngineService';
import { exposeEngine } from '../../serve/engineBridge';
import type { RateLimitOptions } from '../rateLimiter';

export interface HttpThreadOptions {
  /** The engines, on this thread; the HTTP thread asks them for each `recs.*` list. */
  engines: EngineService;
  /**
   * PostgreSQL URL: the HTTP thread opens a pool of its own (ingestion, admin, keys, the served-list
   * log). The embedded database cannot be shared between threads.
   */
  databaseUrl: string;
  /** The pool's timeouts (see `StartOptions.databaseTimeouts`). @default the environment's, else 10 s and 5 s */
  databaseTimeouts?: DatabaseTimeouts;
  /** @default 8080 (0 picks a free port) */
  port?: number;
  /** @default '127.0.0.1' */
  host?: string;
  /** @default process.env.LOG_LEVEL ?? 'info' */
  logLevel?: string;
  /** See `RecsysServerOptions.fastQueries`. @default true */
  fastQueries?: boolean;
  /**
   * Rate limits, counted in this thread (in its memory, or in Redis and so shared with every process).
   * See `RecsysServerOptions.rateLimits`.
   * @default {}
   */
  rateLimits?: RateLimitOptions | false;
  /** The job schedules `admin.jobs.list` shows (see `RecsysServerOptions.jobSchedules`). */
  jobSchedules?: Partial<JobSchedules>;
  /** The engines' placement, so misdirected recommendations are refused here (see `Placement`). @default every namespace */
  placement?: Placement;
  /**
   * Lets go of the port when the thread is ready to listen on it: the main thread held it while the
   * process started (see `listenWhileStarting`), so that probes were answered from the first moment.
   * @default nothing (the port is free)
   */
  releasePort?: () => Promise<void>;
  /**
   * Called when the thread ends after it started listening and without `close()` (an uncaught
   * error): the process no longer serves HTTP. A failed start rejects instead.
   * @default nothing; the caller decides
   */
  onExit?: (error: Error) => void;
}

/** The serializable part of {@link HttpThreadOptions}, as the worker receives it. */
export interface HttpThreadData {
  databaseUrl: string;
  databaseTimeouts: DatabaseTimeouts | undefined;
  port: number;
  host: string;
  logLevel: string | undefined;
  fastQueries: boolean;
  rateLimits: RateLimitOptions | false;
  jobSchedules: Partial<JobSchedules> | undefined;
  placement: Placement | undefined;
  enginePort: MessagePort;
  /** Whether to wait for the main thread's `listen` before listening (see `releasePort`). */
  portHeld: boolean;
}

export type HttpThreadMessage =
  | { t: 'ready' }
  | { t: 'listening'; url: string }
  | { t: 'failed'; message: string }
  | { t: 'closed' };

export interface HttpThread {
  /** Base URL the thread listens on. */
  url: string;
  worker: Worker;
  /**
   * Passes the engines' state to the thread now; resolves once it has it. After the engines have
   * loaded, `/readyz` and `recs.*` on the thread then agree with them at once (they otherwise learn
   * of it within 100 ms).
   */
  syncEngines(): Promise<void>;
  /** Stops accepting, finishes what is in flight, flushes the served-list log, ends the thread. */
  close(): Promise<void>;
}

/**
 * The thread's entry file. From source (tsx, vitest) it is `worker.js`, which registers tsx before
 * it imports `threadMain.ts`; in the compiled CLI this module is bundled into a chunk of `dist/`,
 * beside the `threadMain.js` entry that tsup builds (see tsup.config.ts).
 */
function workerEntry(): URL {
  const fromSource = import.meta.url.endsWith('.ts');
  return new URL(fromSource ? './worker.js' : './threadMain.js', import.meta.url);
}

/**
 * Serves the HTTP API (tRPC, collection, health, metrics) from a worker thread while the engines
 * stay on this one, so that the two share the machine's cores: the engine's ranking on this
 * thread, and HTTP parsing, validation, JSON, socket writes and the served-list log on the other.
 * A `recs.*` request crosses threads twice, as small structured clones.
 */
export async function startHttpThread(options: HttpThreadOptions): Promise<HttpThread> {
  const channel = new MessageChannel();
  const exposed = exposeEngine(options.engines, channel.port1);
  const data: HttpThreadData = {
    databaseUrl: options.databaseUrl,
    databaseTimeouts: options.databaseTimeouts,
    port: options.port ?? 8080,
    host: options.host ?? '127.0.0.1',
    logLevel: options.logLevel,
    fastQueries: options.fastQueries ?? true,
    rateLimits: options.rateLimits ?? {},
    jobSchedules: options.jobSchedules,
    placement: options.placement,
    enginePort: channel.port2,
    portHeld: options.releasePort !== undefined,
  };
  const worker = new Worker(workerEntry(), {
    workerData: data,
    transferList: [channel.port2],
  });
  let closing = false;
  let listening = false;
  const exited = new Promise<number>((resolve) => worker.once('exit', resolve));
  let lastError: Error | undefined;
  worker.on('error', (error) => {
    lastError = error;
  });
  void exited.then((code) => {
    exposed.stop();
    // A thread that never listened is reported by the rejected start, not here.
    if (!closing && listening) {
      options.onExit?.(lastError ?? new Error(`The HTTP thread exited with code ${code}.`));
    }
  });
  const url = await new Promise<string>((resolve, reject) => {
    const onMessage = (message: HttpThreadMessage) => {
      if (message.t === 'ready') {
        // The gap between the main thread's last answer and this thread's first one is a message
        // round trip: a connection in it is refused, and retried by any client or probe.
        void options.releasePort!().then(
          () => worker.postMessage({ t: 'listen' }),
          (error: unknown) => {
            void worker.terminate();
            reject(error);
          },
        );
      } else if (message.t === 'listening') {
        listening = true;
        resolve(message.url);
      } else if (message.t === 'failed') reject(new Error(message.message));
    };
    worker.on('message', onMessage);
    void exited.then((code) =>
      reject(lastError ?? new Error(`The HTTP thread exited with code ${code} before listening.`)),
    );
  });
  return {
    url,
    worker,
    syncEngines: () => exposed.sync(),
    async close() {
      if (closing) return exited.then(() => undefined);
      closing = true;
      worker.postMessage({ t: 'close' });
      await exited;
    },
  };
}
