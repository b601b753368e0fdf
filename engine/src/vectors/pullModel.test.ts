import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HttpResponse, http } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ModelPullError, pullModel } from './pullModel';

const MODEL = new Uint8Array(300_000).map((_, i) => (i * 31) & 0xff);
const TOKENIZER = JSON.stringify({ model: { type: 'WordPiece', vocab: { '[UNK]': 0 } } });
const HUB = 'https://huggingface.co/acme/mini-embed/resolve/main';

/** Streams the body in several chunks so the download path really iterates. */
function chunked(bytes: Uint8Array, chunk = 64 * 1024): ReadableStream<Uint8Array> {
  let offset = 0;
  return new ReadableStream({
    pull(controller) {
      if (offset >= bytes.length) return controller.close();
      controller.enqueue(bytes.slice(offset, offset + chunk));
      offset += chunk;
    },
  });
}

const server = setupServer(
  http.get(
    `${HUB}/onnx/model.onnx`,
    () => new HttpResponse(chunked(MODEL), { headers: { 'content-length': String(MODEL.length) } }),
  ),
  http.get(`${HUB}/tokenizer.json`, () => HttpResponse.text(TOKENIZER)),
  http.get(`${HUB}/tokenizer_config.json`, () => new HttpResponse(null, { status: 404 })),
  http.get(`${HUB}/config.json`, () => HttpResponse.json({ hidden_size: 384 })),
);

describe('pullModel', () => {
  let dir: string;
  beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
  afterAll(() => server.close());
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'recsys-pull-'));
  });
  afterEach(async () => {
    server.resetHandlers();
    await rm(dir, { recursive: true, force: true });
  });

  it('downloads model.onnx, tokenizer.json and config from the hub URL pattern, skipping absent optional files', async () => {
    const progress: number[] = [];
    const result = await pullModel({
      id: 'acme/mini-embed',
      dir,
      onProgress: ({ file, bytes }) => file === 'model.onnx' && progress.push(bytes),
    });
    expect(result.files.map((f) => f.file)).toEqual(['model.onnx', 'tokenizer.json', 'config.json']);
    expect(result.files[0]).toEqual({
      file: 'model.onnx',
      url: `${HUB}/onnx/model.onnx`,
      bytes: MODEL.length,
    });
    expect(result.skipped).toEqual(['tokenizer_config.json']);
    expect(Buffer.compare(await readFile(join(dir, 'model.onnx')), Buffer.from(MODEL))).toBe(0);
    expect(await readFile(join(dir, 'tokenizer.json'), 'utf8')).toBe(TOKENIZER);
    expect((await readdir(dir)).sort()).toEqual(['config.json', 'model.onnx', 'tokenizer.json']);
    expect(progress.length).toBeGreaterThan(1);
    expect(progress.at(-1)).toBe(MODEL.length);
  });

  it('uses the injected fetch and a configurable base URL and revision', async () => {
    const seen: string[] = [];
    server.use(
      http.get('https://mirror.example/acme/mini-embed/resolve/v2/*', ({ request }) =>
        HttpResponse.text(`from ${new URL(request.url).pathname}`),
      ),
    );
    const result = await pullModel({
      id: 'acme/mini-embed',
      dir,
      baseUrl: 'https://mirror.example/',
      revision: 'v2',
      fetch: (input, init) => {
        seen.push(String(input));
        return fetch(input, init);
      },
    });
    expect(seen).toEqual([
      'https://mirror.example/acme/mini-embed/resolve/v2/onnx/model.onnx',
      'https://mirror.example/acme/mini-embed/resolve/v2/tokenizer.json',
      'https://mirror.example/acme/mini-embed/resolve/v2/tokenizer_config.json',
      'https://mirror.example/acme/mini-embed/resolve/v2/config.json',
    ]);
    expect(result.files).toHaveLength(4);
    expect(await readFile(join(dir, 'model.onnx'), 'utf8')).toBe(
      'from /acme/mini-embed/resolve/v2/onnx/model.onnx',
    );
  });

  it('fails with a clear 404 error and leaves the existing model untouched', async () => {
    await writeFile(join(dir, 'model.onnx'), 'previous model');
    server.use(http.get(`${HUB}/tokenizer.json`, () => new HttpResponse('Not found', { status: 404 })));
    const error = await pullModel({ id: 'acme/mini-embed', dir }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ModelPullError);
    expect((error as ModelPullError).status).toBe(404);
    expect((error as Error).message).toMatch(
      /tokenizer\.json not found for model "acme\/mini-embed" \(HTTP 404/,
    );
    expect(await readFile(join(dir, 'model.onnx'), 'utf8')).toBe('previous model');
    expect(await readdir(dir)).toEqual(['model.onnx']);
  });

  it('reports network failures with the URL', async () => {
    server.use(http.get(`${HUB}/onnx/model.onnx`, () => HttpResponse.error()));
    await expect(pullModel({ id: 'acme/mini-embed', dir })).rejects.toThrow(
      new RegExp(`network error while downloading ${HUB}/onnx/model\\.onnx`),
    );
    expect(await readdir(dir)).toEqual([]);
  });

  it('rejects a truncated body instead of keeping a partial model', async () => {
    server.use(
      http.get(
        `${HUB}/onnx/model.onnx`,
        () =>
          new HttpResponse(chunked(MODEL.slice(0, 1000)), {
            headers: { 'content-length': String(MODEL.length) },
          }),
      ),
    );
    await expect(pullModel({ id: 'acme/mini-embed', dir })).rejects.toThrow(
      /ended after 1000 of 300000 bytes/,
    );
    expect(await readdir(dir)).toEqual([]);
  });

  it('hints at credentials for gated models', async () => {
    server.use(http.get(`${HUB}/onnx/model.onnx`, () => new HttpResponse(null, { status: 401 })));
    await expect(pullModel({ id: 'acme/mini-embed', dir })).rejects.toThrow(/HTTP 401.*gated or private/);
  });

  it('rejects ids that are not owner/name before any request', async () => {
    await expect(pullModel({ id: '../etc/passwd', dir })).rejects.toThrow(/invalid model id/);
    await expect(pullModel({ id: 'a b', dir })).rejects.toThrow(/expected "owner\/name"/);
  });
});
