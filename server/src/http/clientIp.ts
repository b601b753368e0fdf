import type { IncomingMessage } from 'node:http';
import { isIPv4 } from 'node:net';
import ipaddr from 'ipaddr.js';
import proxyAddr from 'proxy-addr';

/**
 * Which proxies in front of the server may say who the client is, through `X-Forwarded-For`:
 * - `false`: none; the client is the socket's peer address (a client can forge the header);
 * - `true` or a number `n`: the nearest `n` hops (`true` = 1, a single load balancer);
 * - a string or list of addresses, CIDR ranges or the names `loopback`, `linklocal`, `uniquelocal`
 *   (comma-separated in a string): the proxies at those addresses, as Express's `trust proxy`.
 * @example 'loopback, 10.0.0.0/8'
 */
export type TrustProxySetting = boolean | number | string | string[];

/** `RECSYS_TRUST_PROXY` as a setting: `true`, `false`, a hop count, or addresses. */
export function parseTrustProxy(value: string | undefined): TrustProxySetting {
  const text = value?.trim() ?? '';
  if (text === '' || text === 'false' || text === '0') return false;
  if (text === 'true') return true;
  if (/^\d+$/.test(text)) return Number(text);
  return text;
}

/**
 * Returns the function that names a request's client for rate limiting: an IPv4 address, or the
 * /64 network of an IPv6 one (one subscriber usually holds a whole /64, so counting single IPv6
 * addresses would let one client take 2^64 budgets).
 */
export function createClientIp(trust: TrustProxySetting): (req: IncomingMessage) => string {
  const socketAddress = (req: IncomingMessage) => req.socket.remoteAddress ?? 'unknown';
  if (trust === false || trust === 0) return (req) => normalize(socketAddress(req));
  const hops = trust === true ? 1 : trust;
  const trusted =
    typeof hops === 'number'
      ? (_address: string, i: number) => i < hops
      : proxyAddr.compile(
          typeof hops === 'string'
            ? hops
                .split(',')
                .map((s) => s.trim())
                .filter(Boolean)
            : hops,
        );
  return (req) => {
    // Without the header there is nothing to parse (the common case for direct clients).
    if (req.headers['x-forwarded-for'] === undefined) return normalize(socketAddress(req));
    const forwarded = proxyAddr(req, trusted);
    // Not an address (a proxy passing on what a client wrote): counted as the proxy itself, so a
    // made-up value never opens a budget of its own.
    return normalize(ipaddr.isValid(forwarded) ? forwarded : socketAddress(req));
  };
}

function normalize(address: string): string {
  if (isIPv4(address)) return address; // the common case, without parsing
  if (!ipaddr.isValid(address)) return address;
  const parsed = ipaddr.process(address); // an IPv4-mapped IPv6 address becomes IPv4
  if (parsed.kind() === 'ipv4') return parsed.toString();
  const parts = (parsed as ipaddr.IPv6).parts.slice(0, 4);
  return `${parts.map((p) => p.toString(16)).join(':')}::/64`;
}
