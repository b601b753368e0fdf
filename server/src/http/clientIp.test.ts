import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createClientIp, parseTrustProxy, type TrustProxySetting } from './clientIp';

let server: Server | undefined;
afterEach(() => new Promise<void>((r) => (server ? server.close(() => r()) : r())));

/** A real server on a free port that answers with the client address it would count. */
async function echo(trust: TrustProxySetting) {
  const clientIp = createClientIp(trust);
  server = createServer((req, res) => res.end(clientIp(req)));
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return async (forwardedFor?: string) => {
    const res = await fetch(`http://127.0.0.1:${port}/`, {
      headers: forwardedFor ? { 'x-forwarded-for': forwardedFor } : {},
    });
    return res.text();
  };
}

describe('the client address of a request', () => {
  it('is the socket peer by default, whatever X-Forwarded-For says', async () => {
    const ask = await echo(false);
    expect(await ask()).toBe('127.0.0.1');
    expect(await ask('203.0.113.9')).toBe('127.0.0.1');
  });

  it('is the address the nearest trusted proxy saw, not what the client wrote before it', async () => {
    const oneHop = await echo(true);
    // The client wrote 198.51.100.1 itself; the proxy (127.0.0.1 here) appended 203.0.113.9.
    expect(await oneHop('198.51.100.1, 203.0.113.9')).toBe('203.0.113.9');
    expect(await oneHop()).toBe('127.0.0.1');
  });

  it('counts a forwarded value that is not an address as the proxy that sent it', async () => {
    const ask = await echo(1);
    expect(await ask('anything-at-all')).toBe('127.0.0.1');
    expect(await ask('203.0.113.9, x'.repeat(500))).toBe('127.0.0.1');
  });

  it('walks back through proxies trusted by address', async () => {
    const ask = await echo('loopback, 10.0.0.0/8');
    expect(await ask('198.51.100.1, 203.0.113.9, 10.1.2.3')).toBe('203.0.113.9');
  });

  it('counts an IPv6 client by its /64 network, and an IPv4-mapped one as IPv4', async () => {
    const ask = await echo(1);
    expect(await ask('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64');
    expect(await ask('2001:db8:1:2:bbbb::7')).toBe('2001:db8:1:2::/64');
    expect(await ask('2001:db8:1:3::1')).toBe('2001:db8:1:3::/64');
    expect(await ask('::ffff:203.0.113.9')).toBe('203.0.113.9');
  });

  it('reads RECSYS_TRUST_PROXY as off, a hop count or addresses', () => {
    expect(parseTrustProxy(undefined)).toBe(false);
    expect(parseTrustProxy('')).toBe(false);
    expect(parseTrustProxy('false')).toBe(false);
    expect(parseTrustProxy('true')).toBe(true);
    expect(parseTrustProxy('2')).toBe(2);
    expect(parseTrustProxy('loopback, 10.0.0.0/8')).toBe('loopback, 10.0.0.0/8');
  });
});
