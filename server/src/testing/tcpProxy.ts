import { connect, createServer, type Server, type Socket } from 'node:net';

/** Options of {@link createTcpProxy}. */
export interface TcpProxyOptions {
  /** Where connections are forwarded to, e.g. PostgreSQL's host and port. */
  target: { host: string; port: number };
  /**
   * Interface the proxy listens on; its port is a free one.
   * @default '127.0.0.1'
   */
  host?: string;
}

/** A TCP proxy between a server and its database, for tests that cut the connection between them. */
export interface TcpProxy {
  readonly host: string;
  readonly port: number;
  /** Client connections open through the proxy now. */
  readonly connections: number;
  /** Destroys every open connection, both sides, as a crashed database or a cut network does. */
  cutAll(): void;
  /** Stops listening: new connections are refused (ECONNREFUSED) until {@link TcpProxy.accept}. */
  refuse(): Promise<void>;
  /** Listens again, on the same port. */
  accept(): Promise<void>;
  /**
   * Stops forwarding, both ways, on every open connection, and accepts new ones without forwarding
   * anything on them: nothing is refused or closed, nothing answers, as with a network partition or
   * a frozen database host. Until {@link TcpProxy.resume}.
   */
  stall(): void;
  /** Forwards again what was held, and from then on, on every connection still open. */
  resume(): void;
  /**
   * Resets (TCP RST, both sides) the first connection whose client sends bytes containing `marker`,
   * before they are forwarded: a connection lost at one exact step of a protocol. Resolves once one
   * was reset.
   */
  resetOnClientBytes(marker: string): Promise<void>;
  /** Cuts everything and stops listening for good. */
  close(): Promise<void>;
}

/**
 * Forwards connections on a free local port to `target`. Faults are driven by the test: `cutAll()`
 * and `refuse()` make an outage of the database behind it, `stall()` a database that hangs, without
 * touching the database itself (in CI it is shared, and must never be restarted); `accept()` and
 * `resume()` end them.
 */
export async function createTcpProxy(options: TcpProxyOptions): Promise<TcpProxy> {
  const host = options.host ?? '127.0.0.1';
  /** Each client connection and its upstream one. */
  const open = new Map<Socket, Socket>();
  let server: Server | undefined;
  let port = 0;
  let stalled = false;
  let trap: { marker: Buffer; sprung: () => void } | undefined;

  function flow(client: Socket, upstream: Socket) {
    client.pipe(upstream);
    upstream.pipe(client);
  }

  /** Bytes already read stay in the sockets' buffers, and arrive once they flow again. */
  function hold(client: Socket, upstream: Socket) {
    client.unpipe(upstream);
    upstream.unpipe(client);
    client.pause();
    upstream.pause();
  }

  function forward(client: Socket) {
    const upstream = connect(options.target.port, options.target.host);
    const pair = [client, upstream];
    open.set(client, upstream);
    // Ahead of the pipe's listener, so that the bytes that spring the trap are never forwarded.
    client.on('data', (chunk: Buffer) => {
      if (!trap || !chunk.includes(trap.marker)) return;
      const { sprung } = trap;
      trap = undefined;
      client.resetAndDestroy();
      upstream.resetAndDestroy();
      sprung();
    });
    for (const socket of pair) {
      // Either side going away takes the other with it, as a cut network does.
      socket.once('close', () => {
        open.delete(client);
        for (const other of pair) other.destroy();
      });
      socket.on('error', () => {});
    }
    if (stalled) hold(client, upstream);
    else flow(client, upstream);
  }

  async function listen() {
    const next = createServer(forward);
    await new Promise<void>((resolve, reject) => {
      next.once('error', reject);
      next.listen(port, host, () => resolve());
    });
    server = next;
    port = (next.address() as { port: number }).port;
  }

  /** Closes the listening socket at once; `close`'s callback would wait for every open connection. */
  function stopListening() {
    server?.close();
    server = undefined;
  }

  function cutAll() {
    for (const [client, upstream] of open) {
      client.destroy();
      upstream.destroy();
    }
  }

  await listen();
  return {
    host,
    get port() {
      return port;
    },
    get connections() {
      return open.size;
    },
    cutAll,
    async refuse() {
      stopListening();
    },
    accept: listen,
    stall() {
      if (stalled) return;
      stalled = true;
      for (const [client, upstream] of open) hold(client, upstream);
    },
    resume() {
      if (!stalled) return;
      stalled = false;
      for (const [client, upstream] of open) flow(client, upstream);
    },
    resetOnClientBytes(marker) {
      return new Promise<void>((sprung) => {
        trap = { marker: Buffer.from(marker), sprung };
      });
    },
    async close() {
      stopListening();
      cutAll();
    },
  };
}

/**
 * A proxy in front of the PostgreSQL server of `url`, and `url` through it: what a server under test
 * is given, so that the test can cut, refuse or stall its connections.
 */
export async function proxyDatabaseUrl(url: string): Promise<{ proxy: TcpProxy; url: string }> {
  const direct = new URL(url);
  const proxy = await createTcpProxy({
    target: { host: direct.hostname, port: Number(direct.port || 5432) },
  });
  const proxied = new URL(direct);
  proxied.hostname = proxy.host;
  proxied.port = String(proxy.port);
  return { proxy, url: proxied.href };
}
