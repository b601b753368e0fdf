import * as ort from 'onnxruntime-node';
import { encodeModel, OnnxDataType } from './onnxProto';

/**
 * Batched top-k by dot product as an onnxruntime graph (Gemm + TopK). Precomputing every item's
 * neighbour list at 100k × 256 is ~10¹¹ multiply-adds; onnxruntime's blocked SGEMM on its own
 * threads does that in seconds, where a scalar TypeScript loop on the event loop would take
 * minutes and stall serving.
 */
function topKModelBytes(): Uint8Array {
  return encodeModel({
    graphName: 'recsys_topk_dot',
    opset: 13,
    inputs: [
      { name: 'queries', elemType: OnnxDataType.FLOAT, shape: ['m', 'dim'] },
      { name: 'candidates', elemType: OnnxDataType.FLOAT, shape: ['n', 'dim'] },
      { name: 'k', elemType: OnnxDataType.INT64, shape: [1] },
    ],
    outputs: [
      { name: 'scores', elemType: OnnxDataType.FLOAT, shape: ['m', 'k'] },
      { name: 'indices', elemType: OnnxDataType.INT64, shape: ['m', 'k'] },
    ],
    initializers: [],
    nodes: [
      {
        opType: 'Gemm',
        inputs: ['queries', 'candidates'],
        outputs: ['all'],
        attributes: { transB: { kind: 'int', value: 1 } },
      },
      {
        opType: 'TopK',
        inputs: ['all', 'k'],
        outputs: ['scores', 'indices'],
        attributes: {
          axis: { kind: 'int', value: 1 },
          largest: { kind: 'int', value: 1 },
          sorted: { kind: 'int', value: 1 },
        },
      },
    ],
  });
}

let session: Promise<ort.InferenceSession> | undefined;
/**
 * Without ONNX Runtime's CPU arena: the session lives as long as the process, and an arena keeps
 * the largest intermediate it ever held (hundreds of MB after a 100k-item build) resident while
 * serving; plain allocations of this size go back to the system when a run ends.
 */
const NO_ARENA: ort.InferenceSession.SessionOptions = { enableCpuMemArena: false };

/**
 * For each row of `queries` (m × dim), the `k` rows of `candidates` (n × dim, k ≤ n) with the
 * largest dot product, best first: `indices[r·k + j]` is a candidate row, `scores` its dot product.
 */
export async function topKDot(
  queries: Float32Array,
  candidates: Float32Array,
  dim: number,
  k: number,
): Promise<{ indices: Int32Array; scores: Float32Array }> {
  const m = queries.length / dim;
  const n = candidates.length / dim;
  if (!Number.isInteger(m) || !Number.isInteger(n) || k < 1 || k > n) {
    throw new RangeError(`topKDot: need whole rows of ${dim} and 1 ≤ k ≤ ${n}, got k = ${k}`);
  }
  session ??= ort.InferenceSession.create(topKModelBytes(), NO_ARENA);
  const s = await session;
  const out = await s.run({
    queries: new ort.Tensor('float32', queries, [m, dim]),
    candidates: new ort.Tensor('float32', candidates, [n, dim]),
    k: new ort.Tensor('int64', BigInt64Array.of(BigInt(k)), [1]),
  });
  const indices = out['indices']?.data;
  const scores = out['scores']?.data;
  if (!(indices instanceof BigInt64Array) || !(scores instanceof Float32Array)) {
    throw new Error('top-k graph returned unexpected outputs');
  }
  return { indices: Int32Array.from(indices, Number), scores };
}
