import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../util/random';
import { createBuiltinEncoder } from './createBuiltinEncoder';
import {
  buildLearnedModelBytes,
  createLearnedEncoder,
  learnedModelId,
  loadProjection,
  storeProjection,
} from './learnedEncoder';
import { builtinVectors, projectVector, trainCoPurchaseProjection } from './trainCoPurchaseProjection';

/**
 * A shop where every kind of product is bought with one other kind whose names share no word with
 * it (kettles with teabags, candles with matches, …), and every kind comes in many finishes.
 */
const PAIRS: Array<[string, string]> = [
  ['kettle', 'teabag'],
  ['candle', 'matchbox'],
  ['vase', 'tulip'],
  ['notebook', 'pencil'],
];
const FINISHES = ['red', 'blue', 'green', 'ivory', 'copper', 'striped', 'dotted', 'matte', 'glossy', 'tiny'];

function syntheticShop() {
  const texts = new Map<string, string>();
  for (const [a, b] of PAIRS) {
    for (const f of FINISHES) {
      texts.set(`${a}-${f}`, `${f} ${a}`);
      texts.set(`${b}-${f}`, `${f} ${b}`);
    }
  }
  const random = mulberry32(7);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  const baskets: string[][] = [];
  for (let n = 0; n < 400; n++) {
    const [a, b] = pick(PAIRS);
    baskets.push([`${a}-${pick(FINISHES)}`, `${b}-${pick(FINISHES)}`]);
  }
  return { texts, baskets };
}

function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

function topIds(query: Float32Array, ids: readonly string[], vectors: readonly Float32Array[], k: number) {
  return ids
    .map((id, i) => ({ id, score: dot(query, vectors[i]!) }))
    .sort((x, y) => y.score - x.score || (x.id < y.id ? -1 : 1))
    .slice(0, k)
    .map((s) => s.id);
}

describe('learned cold-item encoder', () => {
  it('gives a new item its complements as neighbours where the raw text encoder gives look-alikes', async () => {
    const shop = syntheticShop();
    const p = trainCoPurchaseProjection(shop, { model: { dim: 64, buckets: 4096 } });
    const dim = p.model.dim;
    const tower = p.itemIds.map((_, i) => p.itemVectors.subarray(i * dim, (i + 1) * dim));
    const rawVectors = builtinVectors(
      p.itemIds.map((id) => shop.texts.get(id)!),
      p.model,
    );
    // A finish never seen in training: only the word "kettle" ties the new item to the catalog.
    const [x] = builtinVectors(['shiny kettle'], p.model);
    const learned = topIds(projectVector(x!, p.weights, dim), p.itemIds, tower, 8);
    const raw = topIds(x!, p.itemIds, rawVectors, 8);
    expect(learned.every((id) => id.startsWith('teabag-'))).toBe(true);
    expect(raw.every((id) => id.startsWith('kettle-'))).toBe(true);
  });

  it('runs the exported ONNX graph to the same vectors as the TypeScript forward pass', async () => {
    const p = trainCoPurchaseProjection(syntheticShop(), { model: { dim: 32, buckets: 2048 } });
    const encoder = await createLearnedEncoder(p, { idleReleaseMs: 0 });
    try {
      const texts = ['shiny kettle', 'blue pencil and a tulip', ''];
      const onnx = await encoder.encode(texts);
      const ts = builtinVectors(texts, p.model).map((x) => projectVector(x, p.weights, p.model.dim));
      for (let i = 0; i < texts.length; i++) {
        expect(onnx[i]!.length).toBe(32);
        for (let d = 0; d < 32; d++) expect(onnx[i]![d]!).toBeCloseTo(ts[i]![d]!, 5);
      }
      expect(encoder.modelId).toBe(learnedModelId(p));
    } finally {
      await encoder.dispose();
    }
  });

  it('stores W compactly and rebuilds a byte-identical graph from it', () => {
    const p = trainCoPurchaseProjection(syntheticShop(), { model: { dim: 16, buckets: 1024 } });
    const stored = storeProjection(p);
    expect(stored.weights.byteLength).toBe(16 * 16 * 4);
    const back = loadProjection(stored);
    expect(learnedModelId(back)).toBe(learnedModelId(p));
    expect(buildLearnedModelBytes(back)).toEqual(buildLearnedModelBytes(p));
    expect(() => loadProjection({ ...stored, weights: stored.weights.subarray(4) })).toThrow(/needs 1024/);
  });

  it('trains deterministically: the same baskets give the same weights', () => {
    const a = trainCoPurchaseProjection(syntheticShop(), { model: { dim: 16, buckets: 1024 } });
    const b = trainCoPurchaseProjection(syntheticShop(), { model: { dim: 16, buckets: 1024 } });
    expect(learnedModelId(a)).toBe(learnedModelId(b));
    expect(a.itemVectors).toEqual(b.itemVectors);
  });

  it('keeps the built-in forward pass in TypeScript equal to the built-in ONNX encoder', async () => {
    const encoder = await createBuiltinEncoder({ kind: 'builtin', dim: 32, buckets: 2048, idleReleaseMs: 0 });
    try {
      const p = trainCoPurchaseProjection(syntheticShop(), { model: { dim: 32, buckets: 2048 } });
      const texts = ['glossy notebook', 'Crème brûlée à la carte'];
      const [onnx, ts] = [await encoder.encode(texts), builtinVectors(texts, p.model)];
      for (let i = 0; i < texts.length; i++)
        for (let d = 0; d < 32; d++) expect(onnx[i]![d]!).toBeCloseTo(ts[i]![d]!, 5);
    } finally {
      await encoder.dispose();
    }
  });

  it('refuses a shop without two items with text in one basket', () => {
    expect(() =>
      trainCoPurchaseProjection(
        { texts: new Map([['a', 'red kettle']]), baskets: [['a', 'b']] },
        { model: { dim: 16, buckets: 1024 } },
      ),
    ).toThrow(/nothing to learn from/);
  });
});
