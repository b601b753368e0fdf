import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildBuiltinModelBytes, generateSignTable, resolveBuiltinModel } from './builtinModel';
import { createBuiltinEncoder } from './createBuiltinEncoder';
import { hashedFeatures, normalizeTokens } from './hashedFeatures';
import type { EmbeddingEncoder } from './types';

const cos = (a: Float32Array, b: Float32Array): number => a.reduce((s, x, i) => s + x * b[i]!, 0);
const norm = (a: Float32Array): number => Math.sqrt(cos(a, a));

describe('built-in encoder', () => {
  let encoder: EmbeddingEncoder;
  beforeAll(async () => {
    encoder = await createBuiltinEncoder({ kind: 'builtin', dim: 128, buckets: 1 << 15 });
  });
  afterAll(() => encoder.dispose());

  it('returns one unit-length vector of the configured dim per text, in order', async () => {
    const vs = await encoder.encode(['red running shoe', 'kitchen knife', 'espresso machine']);
    expect(encoder.dim).toBe(128);
    expect(vs).toHaveLength(3);
    for (const v of vs) {
      expect(v).toBeInstanceOf(Float32Array);
      expect(v.length).toBe(128);
      expect(norm(v)).toBeCloseTo(1, 5);
    }
    expect(cos(vs[0]!, vs[1]!)).toBeLessThan(0.99);
  });

  it('places texts sharing brand, category and words closer than unrelated texts', async () => {
    const [shoeA, shoeB, shoeOtherBrand, knife, phone] = await encoder.encode([
      'Acme trail running shoe, black. Brand acme. Category running shoes',
      'Acme road running shoes in blue. Brand acme. Category running shoes',
      'Northwind trail running shoe. Category running shoes',
      'Stainless steel chef knife, 20cm blade. Category kitchen',
      'Smartphone with OLED display and 128GB storage',
    ]);
    const same = cos(shoeA!, shoeB!);
    expect(same).toBeGreaterThan(cos(shoeA!, knife!));
    expect(same).toBeGreaterThan(cos(shoeA!, phone!));
    expect(cos(shoeA!, shoeOtherBrand!)).toBeGreaterThan(cos(shoeA!, knife!) + 0.2);
    expect(same).toBeGreaterThan(0.4);
    expect(Math.abs(cos(knife!, phone!))).toBeLessThan(0.25);
  });

  it('treats case, accents and plural forms as near-identical', async () => {
    const [a, b, c] = await encoder.encode(['Café crème cups', 'cafe CREME cup', 'garden hose reel']);
    expect(cos(a!, b!)).toBeGreaterThan(0.6);
    expect(cos(a!, b!)).toBeGreaterThan(cos(a!, c!) + 0.4);
  });

  it('returns the zero vector for text without words and never NaN', async () => {
    const [empty, punct] = await encoder.encode(['', ' -- !! ']);
    expect(Array.from(empty!).every((x) => x === 0)).toBe(true);
    expect(Array.from(punct!).every((x) => x === 0)).toBe(true);
  });

  it('gives identical vectors for a text whether encoded alone or in a padded batch', async () => {
    const long = 'a much longer product description with many distinct words to force padding '.repeat(4);
    const [alone] = await encoder.encode(['short title']);
    const batched = await createBuiltinEncoder({ kind: 'builtin', dim: 128, buckets: 1 << 15, batchSize: 2 });
    const [inBatch] = await batched.encode(['short title', long, 'third text in the next batch']);
    await batched.dispose();
    expect(Array.from(inBatch!)).toEqual(Array.from(alone!));
  });

  it('is deterministic across instances and encodes the settings into the model id', async () => {
    const other = await createBuiltinEncoder({ kind: 'builtin', dim: 128, buckets: 1 << 15 });
    const [x] = await other.encode(['deterministic text']);
    const [y] = await encoder.encode(['deterministic text']);
    await other.dispose();
    expect(Array.from(x!)).toEqual(Array.from(y!));
    expect(other.modelId).toBe(encoder.modelId);
    expect(encoder.modelId).toMatch(/^builtin-hash-v1-d128-b32768-s\d+-f[0-9a-f]{8}$/);
    expect(resolveBuiltinModel({ dim: 64 }).modelId).not.toBe(resolveBuiltinModel({ dim: 128 }).modelId);
    expect(resolveBuiltinModel({ seed: 1 }).modelId).not.toBe(resolveBuiltinModel({ seed: 2 }).modelId);
    expect(resolveBuiltinModel({ features: { trigramWeight: 0 } }).modelId).not.toBe(
      resolveBuiltinModel().modelId,
    );
  });

  it('releases its session after idleReleaseMs without calls and loads it again for the next one', async () => {
    const idle = await createBuiltinEncoder({ kind: 'builtin', dim: 32, buckets: 4096, idleReleaseMs: 20 });
    const [before] = await idle.encode(['wool socks']);
    expect(idle.sessionLoaded).toBe(true);
    await vi.waitFor(() => expect(idle.sessionLoaded).toBe(false), { timeout: 60_000, interval: 10 });
    const [after] = await idle.encode(['wool socks']);
    expect(Array.from(after!)).toEqual(Array.from(before!));
    expect(idle.sessionLoaded).toBe(true);
    await idle.dispose();
    await expect(idle.encode(['x'])).rejects.toThrow(/disposed/);
  });

  it('keeps its session loaded with idleReleaseMs: 0', async () => {
    const kept = await createBuiltinEncoder({ kind: 'builtin', dim: 32, buckets: 4096, idleReleaseMs: 0 });
    await kept.encode(['wool socks']);
    await new Promise((r) => setTimeout(r, 50));
    expect(kept.sessionLoaded).toBe(true);
    await kept.dispose();
  });

  it('rejects invalid options with the option name in the message', async () => {
    await expect(createBuiltinEncoder({ kind: 'builtin', dim: 0 })).rejects.toThrow(/"dim"/);
    await expect(createBuiltinEncoder({ kind: 'builtin', buckets: 1.5 })).rejects.toThrow(/"buckets"/);
    await expect(createBuiltinEncoder({ kind: 'builtin', batchSize: 0 })).rejects.toThrow(/"batchSize"/);
    await expect(createBuiltinEncoder({ kind: 'builtin', idleReleaseMs: -1 })).rejects.toThrow(
      /"idleReleaseMs"/,
    );
    await expect(createBuiltinEncoder({ kind: 'builtin', dim: 4096, buckets: 1 << 22 })).rejects.toThrow(
      /256 MiB/,
    );
  });
});

describe('built-in ONNX model', () => {
  it('loads in onnxruntime with the documented inputs/outputs and computes the weighted-mean projection', async () => {
    const model = resolveBuiltinModel({ dim: 32, buckets: 1024, seed: 5 });
    const bytes = buildBuiltinModelBytes(model);
    const session = await ort.InferenceSession.create(bytes);
    expect(session.inputNames).toEqual(['ids', 'weights']);
    expect(session.outputNames).toEqual(['embedding']);

    const f = hashedFeatures('blue denim jacket', model.features, model.seed);
    const n = f.ids.length;
    const out = await session.run({
      ids: new ort.Tensor('int64', BigInt64Array.from(f.ids, BigInt), [1, n]),
      weights: new ort.Tensor('float32', f.weights, [1, n]),
    });
    expect(out['embedding']!.dims).toEqual([1, 32]);

    // Independent reference computed in TypeScript from the same sign table.
    const table = generateSignTable(model.buckets, model.dim, model.seed);
    const ref = new Float64Array(32);
    for (let j = 0; j < n; j++) {
      for (let d = 0; d < 32; d++) ref[d]! += f.weights[j]! * table[f.ids[j]! * 32 + d]!;
    }
    const len = Math.sqrt(ref.reduce((s, x) => s + x * x, 0));
    const got = out['embedding']!.data as Float32Array;
    for (let d = 0; d < 32; d++) expect(got[d]).toBeCloseTo(ref[d]! / len, 5);

    // The encoder returns exactly what the session computes.
    const encoder = await createBuiltinEncoder({ kind: 'builtin', dim: 32, buckets: 1024, seed: 5 });
    const [v] = await encoder.encode(['blue denim jacket']);
    await encoder.dispose();
    expect(Array.from(v!)).toEqual(Array.from(got));
    await session.release();
  });

  it('is byte-identical for the same options', () => {
    // How long generation takes is printed by the embeddings benchmark, not asserted here.
    const a = buildBuiltinModelBytes(resolveBuiltinModel());
    const b = buildBuiltinModelBytes(resolveBuiltinModel());
    expect(Buffer.compare(Buffer.from(a), Buffer.from(b))).toBe(0);
    expect(a.length).toBeGreaterThan((1 << 17) * 256);
  });

  it('sign table rows are balanced ±1 and nearly orthogonal to each other', () => {
    const table = generateSignTable(256, 256, 9);
    let sum = 0;
    let notSign = 0;
    for (const x of table) {
      if (x !== 1 && x !== -1) notSign++;
      sum += x;
    }
    expect(notSign).toBe(0);
    expect(Math.abs(sum) / table.length).toBeLessThan(0.02);
    let row01 = 0;
    for (let d = 0; d < 256; d++) row01 += table[d]! * table[256 + d]!;
    expect(Math.abs(row01) / 256).toBeLessThan(0.25);
  });
});

describe('built-in model cache', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'recsys-emb-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('writes <modelId>.onnx once and reuses it, regenerating a corrupted file', async () => {
    const opts = { kind: 'builtin', dim: 16, buckets: 512, cacheDir: dir } as const;
    const first = await createBuiltinEncoder(opts);
    const file = join(dir, `${first.modelId}.onnx`);
    expect(await readdir(dir)).toEqual([`${first.modelId}.onnx`]);
    const cached = await readFile(file);
    expect(Buffer.compare(cached, Buffer.from(buildBuiltinModelBytes(resolveBuiltinModel(opts))))).toBe(0);
    const [a] = await first.encode(['cached model text']);
    await first.dispose();

    await writeFile(file, 'not an onnx model');
    const second = await createBuiltinEncoder(opts);
    const [b] = await second.encode(['cached model text']);
    await second.dispose();
    expect(Array.from(b!)).toEqual(Array.from(a!));
    expect((await readFile(file)).length).toBe(cached.length);
  });
});

describe('feature extraction', () => {
  it('lower-cases, strips accents and splits on punctuation', () => {
    expect(normalizeTokens('Crème-Brûlée SET, 2x!')).toEqual(['creme', 'brulee', 'set', '2x']);
  });

  it('caps the number of words so long descriptions cannot drown the title', () => {
    const opts = { buckets: 1 << 16, wordWeight: 1, bigramWeight: 0, trigramWeight: 0, maxWords: 3 };
    const f = hashedFeatures('one two three four five', opts, 1);
    expect(f.ids.length).toBe(3);
    expect(Array.from(f.weights)).toEqual([1, 1, 1]);
  });
});
