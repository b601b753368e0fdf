import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { packagePath } from '../paths';

/** The browser scripts the server hands out, by their stable names. */
export const BUNDLE_NAMES = ['recsys-track.js', 'recsys.js', 'recsys-widgets.js', 'recsys-full.js'] as const;

/** Where `/static/` is served from. */
export const STATIC_PREFIX = '/static/';

/**
 * How long browsers and CDNs keep a stable name (`/static/recsys.js`) before asking again: a new
 * release reaches pages within five minutes. Versioned names never change, so they are immutable.
 */
export const STABLE_CACHE_CONTROL = 'public, max-age=300, stale-while-revalidate=60';
export const VERSIONED_CACHE_CONTROL = 'public, max-age=31536000, immutable';

/** One bundle as served: its names, integrity and bytes. */
export interface Bundle {
  /** The stable name, e.g. `recsys-full.js`. */
  name: string;
  /** The name with the content hash, e.g. `recsys-full.3f2a9c0d1e4b.js`. */
  versionedName: string;
  /** Subresource Integrity of the file: `sha384-…`, for the script tag's `integrity`. */
  integrity: string;
  bytes: Buffer;
  gzip: Buffer;
  /** Strong validator: the content hash. */
  etag: string;
}

/**
 * The folders the bundles are read from: `RECSYS_BUNDLE_DIRS` (separated by `:`), else the
 * workspace's built `sdk/dist` and `widgets/dist` (what `pnpm build` makes).
 */
export function defaultBundleDirs(): string[] {
  const fromEnv = process.env.RECSYS_BUNDLE_DIRS;
  if (fromEnv) return fromEnv.split(':').filter(Boolean);
  return [packagePath('..', 'sdk', 'dist'), packagePath('..', 'widgets', 'dist')];
}

/** Reads the bundles found in `dirs` (the first folder holding a name wins). */
export function loadBundles(dirs: readonly string[]): Bundle[] {
  const bundles: Bundle[] = [];
  for (const name of BUNDLE_NAMES) {
    const dir = dirs.find((d) => existsSync(join(d, name)));
    if (!dir) continue;
    const bytes = readFileSync(join(dir, name));
    const hash = createHash('sha256').update(bytes).digest('hex').slice(0, 12);
    bundles.push({
      name,
      versionedName: name.replace(/\.js$/, `.${hash}.js`),
      integrity: `sha384-${createHash('sha384').update(bytes).digest('base64')}`,
      bytes,
      gzip: gzipSync(bytes, { level: 9 }),
      etag: `"${hash}"`,
    });
  }
  return bundles;
}

/** What `/static/manifest.json` answers: each bundle's URLs and integrity, for snippets and tooling. */
export function bundleManifest(bundles: readonly Bundle[], baseUrl = '') {
  return Object.fromEntries(
    bundles.map((b) => [
      b.name,
      {
        url: `${baseUrl}${STATIC_PREFIX}${b.name}`,
        versionedUrl: `${baseUrl}${STATIC_PREFIX}${b.versionedName}`,
        integrity: b.integrity,
        bytes: b.bytes.length,
        gzipBytes: b.gzip.length,
      },
    ]),
  );
}

/** The script tag to paste, pinned to this exact file by its versioned URL and integrity. */
export function scriptTag(bundle: Bundle, baseUrl: string): string {
  return `<script async src="${baseUrl}${STATIC_PREFIX}${bundle.versionedName}" integrity="${bundle.integrity}" crossorigin="anonymous" data-key="pk_…" data-endpoint="${baseUrl}"></script>`;
}

/**
 * Serves the browser bundles under `/static/`: stable names with a short cache lifetime, versioned
 * names (content hash) as immutable, gzip when the client accepts it, `ETag` / 304, and CORS so
 * a shop's page on another origin may load them with `integrity` (which needs `crossorigin`).
 * Files are read once, on first use. Returns false for other paths and unknown names, so extra
 * routes (the demo storefront's own `/static/` files) still get them.
 */
export function createBundleHandler(dirs: readonly string[]) {
  let byName: Map<string, { bundle: Bundle; versioned: boolean }> | undefined;
  let bundles: Bundle[] = [];

  function load() {
    if (byName) return byName;
    bundles = loadBundles(dirs);
    byName = new Map();
    for (const bundle of bundles) {
      byName.set(bundle.name, { bundle, versioned: false });
      byName.set(bundle.versionedName, { bundle, versioned: true });
    }
    return byName;
  }

  return {
    /** The bundles found (read on first use). */
    bundles(): Bundle[] {
      load();
      return bundles;
    },
    handle(req: IncomingMessage, res: ServerResponse, path: string): boolean {
      if (!path.startsWith(STATIC_PREFIX) || (req.method !== 'GET' && req.method !== 'HEAD')) return false;
      const name = path.slice(STATIC_PREFIX.length);
      if (name === 'manifest.json') {
        const body = JSON.stringify(bundleManifest(this.bundles()));
        res.writeHead(200, {
          'content-type': 'application/json',
          'cache-control': 'no-cache',
          'access-control-allow-origin': '*',
        });
        res.end(req.method === 'HEAD' ? undefined : body);
        return true;
      }
      const found = load().get(name);
      if (!found) return false;
      const { bundle, versioned } = found;
      const headers: Record<string, string | number> = {
        'content-type': 'text/javascript; charset=utf-8',
        'cache-control': versioned ? VERSIONED_CACHE_CONTROL : STABLE_CACHE_CONTROL,
        etag: bundle.etag,
        vary: 'accept-encoding',
        'access-control-allow-origin': '*',
        'cross-origin-resource-policy': 'cross-origin',
        'x-content-type-options': 'nosniff',
      };
      if (req.headers['if-none-match'] === bundle.etag) {
        res.writeHead(304, headers);
        res.end();
        return true;
      }
      const gzip = /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
      const body = gzip ? bundle.gzip : bundle.bytes;
      if (gzip) headers['content-encoding'] = 'gzip';
      headers['content-length'] = body.length;
      res.writeHead(200, headers);
      res.end(req.method === 'HEAD' ? undefined : body);
      return true;
    },
  };
}
