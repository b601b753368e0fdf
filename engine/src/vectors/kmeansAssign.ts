import * as ort from 'onnxruntime-node';
import { encodeModel, OnnxDataType } from './onnxProto';

/**
 * Nearest-centroid assignment as an onnxruntime graph (Gemm + ArgMax +
 * ReduceMax). k-means over 100k × 256 vectors is ~10¹⁰ multiply-adds per pass;
 * onnxruntime's blocked SGEMM does that one to two orders of magnitude faster
 * than a scalar TypeScript loop, which is what keeps IVF training in seconds.
 */
function assignModelBytes(): Uint8Array {
  return encodeModel({
    graphName: 'recsys_kmeans_assign',
    opset: 13,
    inputs: [
      { name: 'points', elemType: OnnxDataType.FLOAT, shape: ['n', 'dim'] },
      { name: 'centroids', elemType: OnnxDataType.FLOAT, shape: ['k', 'dim'] },
    ],
    outputs: [
      { name: 'assign', elemType: OnnxDataType.INT64, shape: ['n'] },
      { name: 'best', elemType: OnnxDataType.FLOAT, shape: ['n'] },
    ],
    initializers: [],
    nodes: [
      {
        opType: 'Gemm',
        inputs: ['points', 'centroids'],
        outputs: ['scores'],
        attributes: { transB: { kind: 'int', value: 1 } },
      },
      {
        opType: 'ArgMax',
        inputs: ['scores'],
        outputs: ['assign'],
        attributes: { axis: { kind: 'int', value: 1 }, keepdims: { kind: 'int', value: 0 } },
      },
      {
        opType: 'ReduceMax',
        inputs: ['scores'],
        outputs: ['best'],
        attributes: { axes: { kind: 'ints', value: [1] }, keepdims: { kind: 'int', value: 0 } },
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

/** For each point (rows of `points`), the index and dot product of its most similar centroid. */
export async function assignToCentroids(
  points: Float32Array,
  centroids: Float32Array,
  dim: number,
): Promise<{ assign: Int32Array; best: Float32Array }> {
  session ??= ort.InferenceSession.create(assignModelBytes(), NO_ARENA);
  const s = await session;
  const n = points.length / dim;
  const k = centroids.length / dim;
  const out = await s.run({
    points: new ort.Tensor('float32', points, [n, dim]),
    centroids: new ort.Tensor('float32', centroids, [k, dim]),
  });
  const assign = out['assign']?.data;
  const best = out['best']?.data;
  if (!(assign instanceof BigInt64Array) || !(best instanceof Float32Array)) {
    throw new Error('k-means assignment graph returned unexpected outputs');
  }
  return { assign: Int32Array.from(assign, Number), best };
}
