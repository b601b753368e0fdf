import { fmix32, fnv1a32, xorshift32 } from '../util/random';
import { DEFAULT_FEATURE_OPTIONS, type HashedFeatureOptions } from './hashedFeatures';
import {
  encodeModel,
  floatTensor,
  int64Tensor,
  type ModelSpec,
  type NodeSpec,
  OnnxDataType,
  rawBytes,
} from './onnxProto';

/** Bumped whenever the graph or feature extraction changes meaning. */
export const BUILTIN_MODEL_VERSION = 1;

/** Parameters of the generated built-in model. */
export interface BuiltinModelOptions {
  /**
   * Output vector length.
   * @default 256
   * @example { dim: 128 }
   */
  dim?: number;
  /**
   * Hash buckets (rows of the embedding table). The table is stored as int8
   * signs, so memory is `buckets × dim` bytes: 2^17 × 256 = 32 MiB. A float32
   * table of the same size would be 128 MiB for no gain, because every entry is
   * ±1 anyway (signed random projection).
   * @default 131072
   * @example { buckets: 65536 }
   */
  buckets?: number;
  /**
   * Seed of the sign table and of the feature hash. Same seed ⇒ byte-identical
   * model and identical vectors on every machine.
   * @default 20240601
   * @example { seed: 7 }
   */
  seed?: number;
  /**
   * Feature weights (word / bigram / char 3-gram) and the word cap.
   * @default { wordWeight: 1, bigramWeight: 0.5, trigramWeight: 0.25, maxWords: 128 }
   * @example { features: { trigramWeight: 0 } }
   */
  features?: Partial<Omit<HashedFeatureOptions, 'buckets'>>;
}

export interface ResolvedBuiltinModel {
  dim: number;
  buckets: number;
  seed: number;
  features: HashedFeatureOptions;
  modelId: string;
}

export const DEFAULT_BUILTIN_DIM = 256;
export const DEFAULT_BUILTIN_BUCKETS = 1 << 17;
export const DEFAULT_BUILTIN_SEED = 20240601;

function checkInt(name: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(
      `builtin encoder option "${name}" must be an integer in [${min}, ${max}], got ${String(value)}`,
    );
  }
}

/** Validates options, fills defaults and derives the model id. */
export function resolveBuiltinModel(options: BuiltinModelOptions = {}): ResolvedBuiltinModel {
  const dim = options.dim ?? DEFAULT_BUILTIN_DIM;
  const buckets = options.buckets ?? DEFAULT_BUILTIN_BUCKETS;
  const seed = options.seed ?? DEFAULT_BUILTIN_SEED;
  checkInt('dim', dim, 8, 4096);
  checkInt('buckets', buckets, 256, 1 << 22);
  checkInt('seed', seed, 0, 0xffffffff);
  if (dim * buckets > 256 * 1024 * 1024) {
    throw new RangeError(
      `builtin encoder table of ${buckets} × ${dim} int8 exceeds 256 MiB; lower "buckets" or "dim"`,
    );
  }
  const features: HashedFeatureOptions = { ...DEFAULT_FEATURE_OPTIONS, ...options.features, buckets };
  for (const key of ['wordWeight', 'bigramWeight', 'trigramWeight'] as const) {
    if (!Number.isFinite(features[key]) || features[key] < 0) {
      throw new RangeError(`builtin encoder option "features.${key}" must be a finite number ≥ 0`);
    }
  }
  checkInt('features.maxWords', features.maxWords, 1, 100_000);
  const digest = fmix32(
    fnv1a32(
      [features.wordWeight, features.bigramWeight, features.trigramWeight, features.maxWords].join(','),
    ),
  )
    .toString(16)
    .padStart(8, '0');
  const modelId = `builtin-hash-v${BUILTIN_MODEL_VERSION}-d${dim}-b${buckets}-s${seed}-f${digest}`;
  return { dim, buckets, seed, features, modelId };
}

/**
 * Deterministic ±1 sign table (`buckets × dim`, int8). Each bucket gets an
 * independent random sign vector, so the weighted sum over a text's features
 * is a signed random projection of its sparse feature vector: texts sharing
 * features share components, and cosine similarity is preserved in expectation.
 */
export function generateSignTable(buckets: number, dim: number, seed: number): Int8Array {
  const table = new Int8Array(buckets * dim);
  // xorshift32 seeded through a mixer: fast (32 signs per draw) and reproducible.
  const draw = xorshift32(fmix32(fnv1a32('recsys-sign-table', seed)) || 0x9e3779b9);
  let bits = 0;
  let left = 0;
  for (let i = 0; i < table.length; i++) {
    if (left === 0) {
      bits = draw();
      left = 32;
    }
    table[i] = bits & 1 ? 1 : -1;
    bits >>>= 1;
    left--;
  }
  return table;
}

/** The built-in graph's inputs, initializers and nodes, writing its unit vector to `output`. */
export function builtinGraphParts(
  model: ResolvedBuiltinModel,
  output: string,
): Pick<ModelSpec, 'inputs' | 'initializers' | 'nodes'> {
  const table = generateSignTable(model.buckets, model.dim, model.seed);
  return {
    inputs: [
      { name: 'ids', elemType: OnnxDataType.INT64, shape: ['batch', 'features'] },
      { name: 'weights', elemType: OnnxDataType.FLOAT, shape: ['batch', 'features'] },
    ],
    initializers: [
      { name: 'table', dataType: OnnxDataType.INT8, dims: [model.buckets, model.dim], raw: rawBytes(table) },
      int64Tensor('axis1', [1], [1]),
      floatTensor('eps', [], [1e-12]),
    ],
    nodes: [
      {
        opType: 'Gather',
        inputs: ['table', 'ids'],
        outputs: ['rows_i8'],
        attributes: { axis: { kind: 'int', value: 0 } },
      },
      {
        opType: 'Cast',
        inputs: ['rows_i8'],
        outputs: ['rows'],
        attributes: { to: { kind: 'int', value: OnnxDataType.FLOAT } },
      },
      // [b,1,f] × [b,f,d] → [b,1,d]: one batched GEMM instead of Mul + ReduceSum over a [b,f,d] temporary.
      { opType: 'Unsqueeze', inputs: ['weights', 'axis1'], outputs: ['w_row'] },
      { opType: 'MatMul', inputs: ['w_row', 'rows'], outputs: ['summed3'] },
      { opType: 'Squeeze', inputs: ['summed3', 'axis1'], outputs: ['summed'] },
      {
        opType: 'ReduceSum',
        inputs: ['weights', 'axis1'],
        outputs: ['weight_total'],
        attributes: { keepdims: { kind: 'int', value: 1 } },
      },
      { opType: 'Max', inputs: ['weight_total', 'eps'], outputs: ['weight_total_safe'] },
      { opType: 'Div', inputs: ['summed', 'weight_total_safe'], outputs: ['mean'] },
      ...l2NormalizeNodes('mean', output),
    ],
  };
}

/** ReduceL2 → Max(ε) → Div: `output = input / max(‖input‖, ε)` per row (needs the `eps` initializer). */
export function l2NormalizeNodes(input: string, output: string): NodeSpec[] {
  return [
    {
      opType: 'ReduceL2',
      inputs: [input],
      outputs: [`${input}_norm`],
      attributes: { axes: { kind: 'ints', value: [1] }, keepdims: { kind: 'int', value: 1 } },
    },
    { opType: 'Max', inputs: [`${input}_norm`, 'eps'], outputs: [`${input}_norm_safe`] },
    { opType: 'Div', inputs: [input, `${input}_norm_safe`], outputs: [output] },
  ];
}

/**
 * Builds the ONNX graph of the built-in encoder.
 *
 * Inputs: `ids` int64 [batch, features] (bucket ids) and `weights` float
 * [batch, features] (0 marks padding). Output: `embedding` float [batch, dim],
 * computed as L2-normalize(Σ wᵢ·table[idᵢ] / max(Σ wᵢ, ε)).
 */
export function buildBuiltinModelBytes(model: ResolvedBuiltinModel): Uint8Array {
  return encodeModel({
    graphName: 'recsys_builtin_text_encoder',
    opset: 13,
    docString: 'Hashed n-gram signed random projection text encoder generated by @recsys/engine',
    metadata: { modelId: model.modelId },
    outputs: [{ name: 'embedding', elemType: OnnxDataType.FLOAT, shape: ['batch', model.dim] }],
    ...builtinGraphParts(model, 'embedding'),
  });
}
