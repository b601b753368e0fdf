import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HttpResponse, http } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { UserError } from '../errors';
import { runModelPull } from './model';

const HUB = 'https://huggingface.co/acme/mini-embed/resolve/main';
const network = setupServer(
  http.get(`${HUB}/onnx/model.onnx`, () => new HttpResponse(new Uint8Array([8, 1, 18, 4]))),
  http.get(`${HUB}/tokenizer.json`, () =>
    HttpResponse.json({ model: { type: 'WordPiece', vocab: { '[UNK]': 0 } } }),
  ),
  http.get(`${HUB}/*`, () => new HttpResponse(null, { status: 404 })),
  http.get(
    'https://huggingface.co/acme/missing/resolve/main/*',
    () => new HttpResponse(null, { status: 404 }),
  ),
);

describe('recsys model pull', () => {
  const dir = mkdtempSync(join(tmpdir(), 'recsys-model-'));
  beforeAll(() => network.listen({ onUnhandledRequest: 'error' }));
  afterEach(() => network.resetHandlers());
  afterAll(() => {
    network.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('downloads model.onnx and tokenizer.json into the folder and says how to use it', async () => {
    const lines: string[] = [];
    const target = join(dir, 'mini');
    await runModelPull({ id: 'acme/mini-embed', dir: target, log: (l) => lines.push(l) });
    expect([...readFileSync(join(target, 'model.onnx'))]).toEqual([8, 1, 18, 4]);
    expect(JSON.parse(readFileSync(join(target, 'tokenizer.json'), 'utf8')).model.type).toBe('WordPiece');
    expect(lines.at(-1)).toBe(`Use it with: recsys serve --embeddings transformer:${target}`);
  });

  it('reports an unknown model as a clear user error and leaves no partial folder content', async () => {
    const target = join(dir, 'missing');
    const error = await runModelPull({ id: 'acme/missing', dir: target, log: () => {} }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(UserError);
    expect((error as Error).message).toMatch(/404/);
    expect(existsSync(join(target, 'model.onnx'))).toBe(false);
  });
});
