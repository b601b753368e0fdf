import { connect, type Socket } from 'node:net';
import postgres from 'postgres';
import type { Logger } from '../obs/logger';
import { isDatabaseUnavailable } from './unavailable';

/**
 * A query that got no answer from a database that no longer answers at all (checked on a new
 * connection): an outage, answered 503 with `Retry-After` (see `isDatabaseUnavailable`).
 */
export class DatabaseNotAnsweringError extends Error {
  readonly code = 'DATABASE_NOT_ANSWERING';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DatabaseNotAnsweringError';
  }
}

/** What postgres.js hands its `socket` option: the hosts and ports of the URL, or a Unix socket path. */
interface SocketTarget {
  host: string[];
  port: number[];
  path?: string | false;
}

/**
 * Opens the driver's connections itself (postgres.js's `socket` option), so that they can all be
 * dropped at once when the database stops answering: a connection waiting on a partitioned network
 * or a frozen host would otherwise wait for TCP to give up, a quarter of an hour later.
 */
export function createSocketRegistry() {
  const open = new Set<Socket>();
  let next = 0;
  return {
    /** postgres.js's `socket` option: one new connection to the next host of the URL. */
    open(target: SocketTarget): Socket {
      const i = next++ % Math.max(1, target.host.length);
      const host = target.host[i] ?? 'localhost';
      const port = target.port[i] ?? target.port[0] ?? 5432;
      const socket = target.path ? connect(target.path) : connect(port, host);
      // Read by the driver for TLS server names and error messages.
      Object.assign(socket, { host, port });
      open.add(socket);
      socket.once('close', () => open.delete(socket));
      return socket;
    },
    get size() {
      return open.size;
    },
    /** Destroys every connection: the driver fails what ran on them, and reconnects on next use. */
    destroyAll() {
      for (const socket of open) socket.destroy();
    },
  };
}

/** Options of {@link createHangGuard}. */
export interface HangGuardOptions {
  /** The database's URL, for the check on a new connection. */
  url: string;
  /** See `DatabaseOptions.queryTimeoutMs`; 0 turns the guard off. */
  queryTimeoutMs: number;
  /** See `DatabaseOptions.connectTimeoutMs`: also how long the check may take. */
  connectTimeoutMs: number;
  /** Called when the check fails: drop the pool's connections. */
  onNotAnswering: () => void;
  log?: Logger | undefined;
}

/**
 * Bounds how long a query waits on a database that does not answer, without cutting slow work on
 * one that does. A query without an answer after `queryTimeoutMs` triggers a check: `SELECT 1` on a
 * new connection, within `connectTimeoutMs`. If the database answers it (or refuses it with an error
 * of its own), it is alive and the query goes on waiting (backups, engine loads and migrations run
 * as long as they need). If not, every query waiting fails with {@link DatabaseNotAnsweringError},
 * the pool's connections are dropped, and new queries wait, unsent, for a check of their own (or
 * the one in progress), failing while it finds the database silent.
 */
export function createHangGuard(options: HangGuardOptions) {
  const { queryTimeoutMs, connectTimeoutMs } = options;
  let checking: Promise<boolean> | undefined;
  /** The last check's verdict, reused for a second so that a burst of queries gone slow checks once. */
  let verdict: { alive: boolean; at: number } | undefined;
  let answering = true;

  /**
   * Whether the database answers on a new connection; the check in progress if there is one. A
   * verdict under a second old is reused unless `fresh` (a query about to be sent to a database last
   * found silent must not be refused on what was true before it came back).
   */
  async function check(fresh = false): Promise<boolean> {
    if (!fresh && verdict && performance.now() - verdict.at < 1_000) return verdict.alive;
    checking ??= answersOnNewConnection(options.url, connectTimeoutMs)
      .catch(() => false)
      .then((alive) => {
        checking = undefined;
        verdict = { alive, at: performance.now() };
        if (!alive) {
          if (answering) {
            options.log?.warn(
              { queryTimeoutMs, connectTimeoutMs },
              'the database does not answer: its connections are dropped, requests that need it answer 503 until it does',
            );
          }
          options.onNotAnswering();
          answering = false;
        } else if (!answering) {
          answered();
        }
        return alive;
      });
    return checking;
  }

  /** A query got its answer: the database answers again, whatever the last check found. */
  function answered() {
    answering = true;
    verdict = undefined;
    options.log?.info('the database answers again');
  }

  const notAnswering = (cause?: unknown, connecting = false) =>
    new DatabaseNotAnsweringError(
      connecting
        ? `The database does not answer: a new connection got no reply within ${connectTimeoutMs / 1000} s.`
        : `The database does not answer: a query got no reply within ${queryTimeoutMs / 1000} s, and a new connection none within ${connectTimeoutMs / 1000} s.`,
      { cause },
    );

  /**
   * Runs `work` (a query or a transaction), failing it with {@link DatabaseNotAnsweringError} if it
   * waits past `queryTimeoutMs` on a database that does not answer a check. A connection that could
   * not be opened within `connectTimeoutMs`, or that was dropped while the database does not answer,
   * fails the same way, so that what it fails with says why.
   */
  function guard<T>(work: () => PromiseLike<T>): Promise<T> {
    if (queryTimeoutMs <= 0) return Promise.resolve().then(work);
    if (answering) return watch(work);
    // The last check found the database silent: nothing is sent before another check finds it
    // answering, so that requests fail within the check's bound and no work piles up meanwhile.
    return check(true).then((alive) => (alive ? watch(work) : Promise.reject(notAnswering())));
  }

  /** Runs `work`, checking the database each time it goes unanswered for a while. */
  function watch<T>(work: () => PromiseLike<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      let timer: NodeJS.Timeout | undefined;
      // Long work on a database that answers is checked less and less often, up to once a minute.
      let interval = queryTimeoutMs;
      const wait = () => {
        timer = setTimeout(() => {
          void check().then((alive) => {
            if (settled) return;
            if (!alive) {
              settled = true;
              return reject(notAnswering());
            }
            interval = Math.min(interval * 2, Math.max(queryTimeoutMs, 60_000));
            wait();
          });
        }, interval);
      };
      wait();
      Promise.resolve()
        .then(work)
        .then(
          (value) => {
            clearTimeout(timer);
            if (!answering) answered();
            if (settled) return;
            settled = true;
            resolve(value);
          },
          (error: unknown) => {
            clearTimeout(timer);
            if (settled) return;
            settled = true;
            const timedOut = (error as { code?: unknown } | null)?.code === 'CONNECT_TIMEOUT';
            if (timedOut) reject(notAnswering(error, true));
            else reject(!answering && isDatabaseUnavailable(error) ? notAnswering(error) : error);
          },
        );
    });
  }

  return {
    guard,
    /** Whether the last check found the database answering (true before any check). */
    get answering() {
      return answering;
    },
  };
}

/**
 * Whether the database answers `SELECT 1` on a new connection within `timeoutMs`. An error the
 * database itself sends (too many connections, a refused password) is an answer too: it is alive.
 */
async function answersOnNewConnection(url: string, timeoutMs: number): Promise<boolean> {
  const sockets = createSocketRegistry();
  const sql = postgres(url, {
    max: 1,
    onnotice: () => {},
    fetch_types: false,
    connect_timeout: timeoutMs / 1000,
    // In postgres.js's options, not in its types.
    ...({ socket: sockets.open } as object),
  });
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      sql`SELECT 1`.then(
        () => true,
        (error: unknown) => error instanceof postgres.PostgresError,
      ),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), timeoutMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
    await sql.end({ timeout: 0 }).catch(() => {});
    sockets.destroyAll();
  }
}
