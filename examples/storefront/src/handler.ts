import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import type { Catalog, RecsysApi } from './catalog';
import { productSvg } from './images';
import {
  cartPage,
  categoryPage,
  checkoutPage,
  type DemoUser,
  homePage,
  INLINE_SCRIPTS,
  notFoundPage,
  type Order,
  ordersPage,
  type PageContext,
  productPage,
  signInPage,
} from './pages';

export interface ShopHandlerOptions {
  catalog: Catalog;
  api: RecsysApi;
  /** Publishable key per browser origin the shop answers on. */
  keyForOrigin(origin: string): string | undefined;
  /** A user token for the signed-in user, signed on this (server) side with the secret key. */
  signUserToken(userId: string): string;
  /** Files served under `/static/`, name → absolute path. */
  staticFiles: Record<string, string>;
  demoUsers: DemoUser[];
}

const USER_COOKIE = 'shop_user';
/** The SDK's documented first-party cookie holding the visitor's anonymous id. */
const SDK_ANON_COOKIE = 'rsys_aid';
const ID_RE = /^[A-Za-z0-9._:-]{1,128}$/;

const sha256 = (text: string) => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;
/**
 * Only this machine: scripts, styles, images and API calls all come from the
 * page's own origin. Inline scripts are the SDK stub and the identity sync, by
 * hash; widgets add one `<style>` element, hence 'unsafe-inline' for styles.
 */
const CSP = [
  "default-src 'self'",
  `script-src 'self' ${INLINE_SCRIPTS.map(sha256).join(' ')}`,
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self'",
  "connect-src 'self'",
  "font-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
].join('; ');

const CONTENT_TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.map': 'application/json',
};

function cookies(req: IncomingMessage): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    try {
      out.set(part.slice(0, eq).trim(), decodeURIComponent(part.slice(eq + 1).trim()));
    } catch {
      // A malformed cookie from another app on localhost is not ours to fail on.
    }
  }
  return out;
}

function send(
  res: ServerResponse,
  status: number,
  type: string,
  body: string | Buffer,
  headers: Record<string, string> = {},
) {
  res.writeHead(status, {
    'content-type': type,
    'content-length': String(Buffer.byteLength(body)),
    ...headers,
  });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

function redirect(res: ServerResponse, location: string, headers: Record<string, string | string[]> = {}) {
  res.writeHead(303, { location, ...headers });
  res.end();
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  let text = '';
  for await (const chunk of req) {
    text += String(chunk);
    if (text.length > 10_000) throw new Error('form too large');
  }
  return new URLSearchParams(text);
}

/** `decodeURIComponent` that answers undefined for malformed escapes instead of throwing (a 404, not a 500). */
function decode(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

/** The origin the browser used, from the Host header; only plain host[:port] values are trusted. */
function pageOrigin(req: IncomingMessage): string | undefined {
  const host = req.headers.host;
  if (!host || !/^[A-Za-z0-9.[\]:-]{1,255}$/.test(host)) return undefined;
  return `http://${host}`;
}

/** Orders from the secret-side events API: one `purchase` event per line, grouped by `meta.orderId`. */
async function listOrders(api: RecsysApi, who: { userId?: string; anonymousId?: string }): Promise<Order[]> {
  const page = await api.events.list.query({ ...who, type: 'purchase', limit: 1000 });
  const orders = new Map<string, Order>();
  for (const e of page.events) {
    const meta = (e.meta ?? {}) as Record<string, unknown>;
    const orderId = typeof meta.orderId === 'string' ? meta.orderId : null;
    if (!orderId || !e.itemId) continue;
    let order = orders.get(orderId);
    if (!order) {
      order = {
        orderId,
        ts: e.ts,
        currency: typeof meta.currency === 'string' ? meta.currency : 'EUR',
        lines: [],
      };
      orders.set(orderId, order);
    }
    if (e.ts > order.ts) order.ts = e.ts;
    order.lines.push({
      itemId: e.itemId,
      quantity: e.value ?? 1,
      unitPrice: typeof meta.unitPrice === 'number' ? meta.unitPrice : null,
    });
  }
  return [...orders.values()].sort((a, b) => b.ts.localeCompare(a.ts));
}

/**
 * The shop's pages, images and static files, served from the Recsys process
 * through `startRecsys({ fallback })`. Every path not handled by the API ends
 * here; unknown ones get the shop's 404 page.
 */
export function createShopHandler(options: ShopHandlerOptions) {
  const { catalog, api } = options;
  const staticCache = new Map<string, Buffer>();

  return async function handle(req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    const url = new URL(req.url ?? '/', 'http://shop.invalid');
    const path = url.pathname;
    const method = req.method ?? 'GET';

    if (path.startsWith('/static/')) {
      const file = options.staticFiles[path.slice('/static/'.length)];
      if (!file || (method !== 'GET' && method !== 'HEAD')) return false;
      let body = staticCache.get(file);
      if (!body) {
        body = await readFile(file);
        // Bundles are rebuilt during development; cache only the shop's own files.
        if (!file.includes('dist')) staticCache.set(file, body);
      }
      const ext = file.slice(file.lastIndexOf('.'));
      send(res, 200, CONTENT_TYPES[ext] ?? 'application/octet-stream', body, { 'cache-control': 'no-cache' });
      return true;
    }

    const image = /^\/img\/([^/]+)\.svg$/.exec(path);
    if (image?.[1]) {
      const product = catalog.products.get(decode(image[1]) ?? '');
      if (!product) return false;
      send(res, 200, 'image/svg+xml', productSvg(product).value, {
        'cache-control': 'public, max-age=86400',
      });
      return true;
    }

    const jar = cookies(req);
    const rawUser = jar.get(USER_COOKIE);
    const user = rawUser && ID_RE.test(rawUser) ? rawUser : null;

    if (method === 'POST' && path === '/signin') {
      const form = await readForm(req);
      const chosen = form.get('user') ?? '';
      if (!ID_RE.test(chosen)) {
        send(res, 400, 'text/plain; charset=utf-8', 'Pick a user from the list on /signin.');
        return true;
      }
      redirect(res, '/', {
        'set-cookie': `${USER_COOKIE}=${encodeURIComponent(chosen)}; Path=/; HttpOnly; SameSite=Lax`,
      });
      return true;
    }
    if (method === 'POST' && path === '/signout') {
      redirect(res, '/', { 'set-cookie': `${USER_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0` });
      return true;
    }
    if (method !== 'GET' && method !== 'HEAD') return false;

    const origin = pageOrigin(req);
    const publishableKey = origin ? options.keyForOrigin(origin) : undefined;
    if (!origin || !publishableKey) {
      send(
        res,
        421,
        'text/plain; charset=utf-8',
        `This demo shop answers on http://localhost and http://127.0.0.1 with its port; open one of those (got Host: ${req.headers.host ?? 'none'}).`,
      );
      return true;
    }
    const ctx: PageContext = {
      origin,
      publishableKey,
      user,
      userToken: user ? options.signUserToken(user) : null,
      catalog,
    };
    const page = (status: number, body: string) => {
      send(res, status, 'text/html; charset=utf-8', body, {
        'content-security-policy': CSP,
        'cache-control': 'no-store',
        'referrer-policy': 'strict-origin-when-cross-origin',
        'x-content-type-options': 'nosniff',
      });
      return true;
    };

    if (path === '/') return page(200, homePage(ctx));
    if (path === '/cart') return page(200, cartPage(ctx));
    if (path === '/checkout') return page(200, checkoutPage(ctx));
    if (path === '/signin') return page(200, signInPage(ctx, options.demoUsers));
    if (path === '/orders') {
      const anonymousId = jar.get(SDK_ANON_COOKIE);
      const who = user
        ? ({ kind: 'user', filter: { userId: user } } as const)
        : anonymousId && ID_RE.test(anonymousId)
          ? ({ kind: 'visitor', filter: { anonymousId } } as const)
          : undefined;
      const orders = who ? await listOrders(api, who.filter) : [];
      const placed = url.searchParams.get('placed');
      return page(
        200,
        ordersPage(ctx, {
          who: who?.kind ?? 'nobody',
          orders,
          placed: placed && ID_RE.test(placed) ? placed : null,
        }),
      );
    }
    const category = /^\/c\/([^/]+)$/.exec(path);
    if (category?.[1]) {
      const html = categoryPage(
        ctx,
        decode(category[1]) ?? '',
        Number(url.searchParams.get('page') ?? '1') || 1,
      );
      return page(html ? 200 : 404, html ?? notFoundPage(ctx, 'There is no such category.'));
    }
    const product = /^\/p\/([^/]+)$/.exec(path);
    if (product?.[1]) {
      const found = catalog.products.get(decode(product[1]) ?? '');
      return page(
        found ? 200 : 404,
        found ? productPage(ctx, found) : notFoundPage(ctx, 'There is no such product.'),
      );
    }
    if (path === '/favicon.ico') {
      res.writeHead(204);
      res.end();
      return true;
    }
    return page(404, notFoundPage(ctx, `Nothing lives at ${path}.`));
  };
}

export const STATIC_DIR = join(import.meta.dirname, '..', 'public');
