import { once } from 'node:events';
import { connect, createServer, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTcpProxy, type TcpProxy } from './tcpProxy';

/** Connects through the proxy and resolves to the socket, or rejects with the connection error. */
async function open(proxy: TcpProxy): Promise<Socket> {
  const socket = connect(proxy.port, proxy.host);
  await Promise.race([
    once(socket, 'connect'),
    once(socket, 'error').then(([error]) => Promise.reject(error)),
  ]);
  return socket;
}

/** Sends `text` and resolves to the echo of it. */
async function roundTrip(socket: Socket, text: string): Promise<string> {
  socket.write(text);
  let received = '';
  while (received.length < text.length) received += String((await once(socket, 'data'))[0]);
  return received;
}

describe('createTcpProxy', () => {
  /** What reached the echo server, over every connection. */
  let reached = '';
  const echo = createServer((socket) => {
    socket.on('data', (chunk) => {
      reached += String(chunk);
    });
    // A reset connection (resetOnClientBytes) errors here too.
    socket.on('error', () => {});
    socket.pipe(socket);
  });
  let proxy: TcpProxy;

  beforeAll(async () => {
    await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
    proxy = await createTcpProxy({
      target: { host: '127.0.0.1', port: (echo.address() as { port: number }).port },
    });
  });
  afterAll(async () => {
    await proxy.close();
    echo.close();
  });

  it('forwards both ways, cuts every open connection, refuses new ones, then accepts again on its port', async () => {
    const first = await open(proxy);
    expect(await roundTrip(first, 'hello')).toBe('hello');
    expect(proxy.connections).toBe(1);
    const closed = once(first, 'close');
    first.on('error', () => {});
    proxy.cutAll();
    await closed;
    const { port } = proxy;
    await proxy.refuse();
    await expect(open(proxy)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    await proxy.accept();
    expect(proxy.port).toBe(port);
    const second = await open(proxy);
    expect(await roundTrip(second, 'again')).toBe('again');
    second.destroy();
  });

  it('stalls: forwards nothing on open connections, accepts new ones and forwards nothing on them, then delivers what it held once resumed', async () => {
    const first = await open(proxy);
    expect(await roundTrip(first, 'before')).toBe('before');
    proxy.stall();
    reached = '';
    const heldEcho = roundTrip(first, 'held');
    // Accepted, not refused: a hung database's port still takes connections.
    const second = await open(proxy);
    const newEcho = roundTrip(second, 'new');
    expect(proxy.connections).toBe(2);
    expect(reached).toBe('');
    proxy.resume();
    expect(await heldEcho).toBe('held');
    expect(await newEcho).toBe('new');
    expect(reached.length).toBe('heldnew'.length);
    first.destroy();
    second.destroy();
  });

  it('resets the first connection that sends the marked bytes, without forwarding them, and only that one', async () => {
    const first = await open(proxy);
    const second = await open(proxy);
    const sprung = proxy.resetOnClientBytes('TRAP');
    expect(await roundTrip(first, 'plain')).toBe('plain');
    reached = '';
    const failed = once(second, 'error');
    second.on('error', () => {});
    second.write('a TRAP here');
    await sprung;
    expect((await failed)[0]).toMatchObject({ code: 'ECONNRESET' });
    // Sprung once: the marker goes through on the next connection.
    expect(await roundTrip(first, 'TRAP')).toBe('TRAP');
    expect(reached).toBe('TRAP');
    first.destroy();
  });
});
