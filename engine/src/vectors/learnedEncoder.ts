import { fmix32, fnv1a32 } from '../util/random';
import { builtinGraphParts, l2NormalizeNodes, resolveBuiltinModel } from './builtinModel';
import {
  type BuiltinEncoder,
  type BuiltinEncoderOptions,
  createHashedGraphEncoder,
} from './createBuiltinEncoder';
import { encodeModel, OnnxDataType, rawBytes } from './onnxProto';
import type { CoPurchaseProjection } from './trainCoPurchaseProjection';

/** Bumped whenever the learned graph changes meaning. */
export const LEARNED_MODEL_VERSION = 1;

/**
 * A trained projection as stored: the built-in model's options (the graph below W is regenerated
 * from them, byte for byte) and W itself. About 256 KiB at dim 256, where the full ONNX file would
 * carry the 32 MiB sign table too.
 */
export interface StoredProjection {
  version: number;
  dim: number;
  buckets: number;
  seed: number;
  features: { wordWeight: number; bigramWeight: number; trigramWeight: number; maxWords: number };
  ridge: number;
  /** Row-major dim × dim, little-endian float32. */
  weights: Uint8Array;
}

/** The stored form of a trained projection. */
export function storeProjection(p: CoPurchaseProjection): StoredProjection {
  const { wordWeight, bigramWeight, trigramWeight, maxWords } = p.model.features;
  return {
    version: LEARNED_MODEL_VERSION,
    dim: p.model.dim,
    buckets: p.model.buckets,
    seed: p.model.seed,
    features: { wordWeight, bigramWeight, trigramWeight, maxWords },
    ridge: p.ridge,
    weights: Uint8Array.from(rawBytes(p.weights)),
  };
}

/** Reads a stored projection back; throws when its size does not match its dim. */
export function loadProjection(stored: StoredProjection): CoPurchaseProjection {
  if (stored.version !== LEARNED_MODEL_VERSION) {
    throw new Error(
      `learned encoder version ${stored.version} is not supported (expected ${LEARNED_MODEL_VERSION}); train it again`,
    );
  }
  const model = resolveBuiltinModel({
    dim: stored.dim,
    buckets: stored.buckets,
    seed: stored.seed,
    features: stored.features,
  });
  if (stored.weights.byteLength !== model.dim * model.dim * 4) {
    throw new Error(
      `learned encoder weights hold ${stored.weights.byteLength} bytes; dim ${model.dim} needs ${model.dim * model.dim * 4}`,
    );
  }
  const weights = new Float32Array(model.dim * model.dim);
  new Uint8Array(weights.buffer).set(stored.weights);
  return { model, weights, ridge: stored.ridge, itemIds: [], itemVectors: new Float32Array(0), pairs: 0 };
}

/** Stable id of a learned model: the built-in model it reads plus a digest of W. */
export function learnedModelId(p: CoPurchaseProjection): string {
  const bytes = rawBytes(p.weights);
  // FNV over the bytes as a latin-1 string, in slices so a 256 KiB W does not build one huge string.
  let h = 0;
  for (let i = 0; i < bytes.length; i += 4096) {
    h = fnv1a32(String.fromCharCode(...bytes.subarray(i, i + 4096)), h);
  }
  return `learned-copurchase-v${LEARNED_MODEL_VERSION}-${p.model.modelId}-w${fmix32(h).toString(16).padStart(8, '0')}`;
}

/**
 * The learned encoder's ONNX graph: the built-in graph, then `MatMul` by W and L2 normalisation.
 * Same inputs as the built-in model (`ids`, `weights`), output `embedding` [batch, dim].
 */
export function buildLearnedModelBytes(p: CoPurchaseProjection): Uint8Array {
  const parts = builtinGraphParts(p.model, 'text_vec');
  const dim = p.model.dim;
  return encodeModel({
    graphName: 'recsys_learned_copurchase_encoder',
    opset: 13,
    docString:
      'Built-in hashed n-gram encoder followed by a projection learned from co-purchases, by @recsys/engine',
    metadata: { modelId: learnedModelId(p) },
    inputs: parts.inputs,
    outputs: [{ name: 'embedding', elemType: OnnxDataType.FLOAT, shape: ['batch', dim] }],
    initializers: [
      ...parts.initializers,
      { name: 'projection', dataType: OnnxDataType.FLOAT, dims: [dim, dim], raw: rawBytes(p.weights) },
    ],
    nodes: [
      ...parts.nodes,
      { opType: 'MatMul', inputs: ['text_vec', 'projection'], outputs: ['projected'] },
      ...l2NormalizeNodes('projected', 'embedding'),
    ],
  });
}

/**
 * Creates the learned cold-item encoder: text → a vector near the built-in text vectors of the
 * items it is likely bought with. Runs through onnxruntime-node like the built-in encoder.
 *
 * @example
 * const p = trainCoPurchaseProjection({ texts, baskets });
 * const encoder = await createLearnedEncoder(p, { idleReleaseMs: 0 });
 * const [query] = await encoder.encode(['Blue teapot']);
 */
export async function createLearnedEncoder(
  projection: CoPurchaseProjection,
  options: Omit<BuiltinEncoderOptions, 'kind' | 'dim' | 'buckets' | 'seed' | 'features'> = {},
): Promise<BuiltinEncoder> {
  return createHashedGraphEncoder(
    projection.model,
    learnedModelId(projection),
    () => buildLearnedModelBytes(projection),
    options,
  );
}
