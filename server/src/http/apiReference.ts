import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { AnyTRPCRouter } from '@trpc/server';
import { createOpenApiDocument } from '../api/openapi';
import { packagePath } from '../paths';

const version = (JSON.parse(readFileSync(packagePath('package.json'), 'utf8')) as { version: string })
  .version;

/** Swagger UI's files, from the npm package on disk: the page needs nothing outside this server. */
const SWAGGER_ASSETS: Record<string, { file: string; type: string }> = {
  '/docs/swagger-ui.css': { file: 'swagger-ui.css', type: 'text/css; charset=utf-8' },
  '/docs/swagger-ui-bundle.js': { file: 'swagger-ui-bundle.js', type: 'text/javascript; charset=utf-8' },
};

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Recsys API reference</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/docs/swagger-ui.css">
</head>
<body>
<div id="reference"></div>
<script src="/docs/swagger-ui-bundle.js"></script>
<script src="/docs/init.js"></script>
</body>
</html>
`;

// A file rather than an inline script, so a Content-Security-Policy without 'unsafe-inline' allows it.
const INIT = `window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: '#reference', deepLinking: true });\n`;

/**
 * `/openapi.json` (the OpenAPI 3.1 document of the REST routes) and `/docs` (Swagger UI rendering
 * it, served from the `swagger-ui-dist` package). Returns false for any other path.
 */
export function createApiReference(router: AnyTRPCRouter) {
  let document: string | undefined;
  let swaggerDir: string | undefined;
  const assets = new Map<string, Buffer>();

  function asset(path: string): Buffer {
    const cached = assets.get(path);
    if (cached) return cached;
    swaggerDir ??= dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
    const bytes = readFileSync(join(swaggerDir, SWAGGER_ASSETS[path]!.file));
    assets.set(path, bytes);
    return bytes;
  }

  return function serveApiReference(req: IncomingMessage, res: ServerResponse, path: string): boolean {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    if (path === '/openapi.json') {
      // Built on first use: the router does not change while the process runs.
      document ??= JSON.stringify(createOpenApiDocument(router, { version }));
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-cache' });
      res.end(req.method === 'HEAD' ? undefined : document);
      return true;
    }
    if (path === '/docs' || path === '/docs/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-cache' });
      res.end(req.method === 'HEAD' ? undefined : PAGE);
      return true;
    }
    if (path === '/docs/init.js') {
      res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'no-cache' });
      res.end(req.method === 'HEAD' ? undefined : INIT);
      return true;
    }
    if (Object.hasOwn(SWAGGER_ASSETS, path)) {
      const bytes = asset(path);
      res.writeHead(200, {
        'content-type': SWAGGER_ASSETS[path]!.type,
        'content-length': bytes.length,
        'cache-control': 'public, max-age=3600',
      });
      res.end(req.method === 'HEAD' ? undefined : bytes);
      return true;
    }
    return false;
  };
}
