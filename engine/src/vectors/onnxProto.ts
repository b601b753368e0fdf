/**
 * A minimal writer for the handful of ONNX protobuf messages the engine needs to
 * emit (ModelProto, GraphProto, NodeProto, AttributeProto, TensorProto,
 * ValueInfoProto). Hand-written rather than pulling in protobufjs plus the
 * onnx.proto schema because we only ever *write* five messages with ~30 fields,
 * the wire format is tiny and stable, and keeping the multi-megabyte embedding
 * table as a list of chunks lets us concatenate exactly once at the end.
 *
 * Field numbers follow https://github.com/onnx/onnx/blob/main/onnx/onnx.proto.
 * Internal to the embeddings module.
 */

/** ONNX TensorProto.DataType values used by the engine. */
export const OnnxDataType = {
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  INT32: 6,
  INT64: 7,
} as const;
export type OnnxDataType = (typeof OnnxDataType)[keyof typeof OnnxDataType];

/** An encoded message kept as chunks so large tensors are copied only once. */
interface Encoded {
  chunks: Uint8Array[];
  length: number;
}

class Writer {
  private readonly chunks: Uint8Array[] = [];
  private length = 0;
  private scratch: number[] = [];

  private flushScratch(): void {
    if (this.scratch.length === 0) return;
    const bytes = Uint8Array.from(this.scratch);
    this.chunks.push(bytes);
    this.length += bytes.length;
    this.scratch = [];
  }

  private varint(value: number | bigint): void {
    // Negative int64 values are encoded as 10-byte two's complement varints.
    let v = BigInt.asUintN(64, BigInt(value));
    while (v >= 0x80n) {
      this.scratch.push(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    this.scratch.push(Number(v));
  }

  private tag(field: number, wireType: number): void {
    this.varint((field << 3) | wireType);
  }

  int(field: number, value: number | bigint): this {
    this.tag(field, 0);
    this.varint(value);
    return this;
  }

  float(field: number, value: number): this {
    this.tag(field, 5);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, value, true);
    this.scratch.push(...b);
    return this;
  }

  bytes(field: number, value: Uint8Array): this {
    this.tag(field, 2);
    this.varint(value.length);
    this.flushScratch();
    this.chunks.push(value);
    this.length += value.length;
    return this;
  }

  string(field: number, value: string): this {
    return this.bytes(field, new TextEncoder().encode(value));
  }

  message(field: number, value: Encoded): this {
    this.tag(field, 2);
    this.varint(value.length);
    this.flushScratch();
    this.chunks.push(...value.chunks);
    this.length += value.length;
    return this;
  }

  packedInts(field: number, values: readonly (number | bigint)[]): this {
    const inner = new Writer();
    for (const v of values) inner.varint(v);
    return this.message(field, inner.finish());
  }

  finish(): Encoded {
    this.flushScratch();
    return { chunks: this.chunks, length: this.length };
  }
}

/** A tensor initializer. `raw` holds little-endian element bytes. */
export interface TensorSpec {
  name: string;
  dataType: OnnxDataType;
  dims: readonly number[];
  raw: Uint8Array;
}

export type AttributeValue =
  | { kind: 'int'; value: number }
  | { kind: 'float'; value: number }
  | { kind: 'ints'; value: readonly number[] }
  | { kind: 'string'; value: string }
  | { kind: 'tensor'; value: TensorSpec };

export interface NodeSpec {
  opType: string;
  inputs: readonly string[];
  outputs: readonly string[];
  name?: string;
  attributes?: Readonly<Record<string, AttributeValue>>;
}

/** A graph input/output: element type plus shape; strings are symbolic dims. */
export interface ValueInfoSpec {
  name: string;
  elemType: OnnxDataType;
  shape: readonly (number | string)[];
}

export interface ModelSpec {
  graphName: string;
  nodes: readonly NodeSpec[];
  initializers: readonly TensorSpec[];
  inputs: readonly ValueInfoSpec[];
  outputs: readonly ValueInfoSpec[];
  /** Default opset version (ai.onnx domain). */
  opset: number;
  producerName?: string;
  docString?: string;
  metadata?: Readonly<Record<string, string>>;
}

function encodeTensor(t: TensorSpec): Encoded {
  const w = new Writer();
  for (const d of t.dims) w.int(1, d);
  w.int(2, t.dataType);
  w.string(8, t.name);
  w.bytes(9, t.raw);
  return w.finish();
}

function encodeAttribute(name: string, a: AttributeValue): Encoded {
  const w = new Writer();
  w.string(1, name);
  switch (a.kind) {
    case 'float':
      w.float(2, a.value);
      w.int(20, 1);
      break;
    case 'int':
      w.int(3, a.value);
      w.int(20, 2);
      break;
    case 'string':
      w.string(4, a.value);
      w.int(20, 3);
      break;
    case 'tensor':
      w.message(5, encodeTensor(a.value));
      w.int(20, 4);
      break;
    case 'ints':
      w.packedInts(8, a.value);
      w.int(20, 7);
      break;
  }
  return w.finish();
}

function encodeNode(n: NodeSpec): Encoded {
  const w = new Writer();
  for (const i of n.inputs) w.string(1, i);
  for (const o of n.outputs) w.string(2, o);
  if (n.name !== undefined) w.string(3, n.name);
  w.string(4, n.opType);
  for (const [name, value] of Object.entries(n.attributes ?? {})) w.message(5, encodeAttribute(name, value));
  return w.finish();
}

function encodeValueInfo(v: ValueInfoSpec): Encoded {
  const shape = new Writer();
  for (const d of v.shape) {
    const dim = new Writer();
    if (typeof d === 'number') dim.int(1, d);
    else dim.string(2, d);
    shape.message(1, dim.finish());
  }
  const tensorType = new Writer().int(1, v.elemType).message(2, shape.finish()).finish();
  const type = new Writer().message(1, tensorType).finish();
  return new Writer().string(1, v.name).message(2, type).finish();
}

/** Serializes a model to ONNX protobuf bytes. */
export function encodeModel(spec: ModelSpec): Uint8Array {
  const graph = new Writer();
  for (const n of spec.nodes) graph.message(1, encodeNode(n));
  graph.string(2, spec.graphName);
  for (const t of spec.initializers) graph.message(5, encodeTensor(t));
  for (const i of spec.inputs) graph.message(11, encodeValueInfo(i));
  for (const o of spec.outputs) graph.message(12, encodeValueInfo(o));

  const model = new Writer();
  // IR version 8 is what onnx 1.10+ writes for opsets up to 15-17; ORT accepts it.
  model.int(1, 8);
  model.string(2, spec.producerName ?? 'recsys');
  if (spec.docString !== undefined) model.string(6, spec.docString);
  model.message(7, graph.finish());
  model.message(8, new Writer().string(1, '').int(2, spec.opset).finish());
  for (const [key, value] of Object.entries(spec.metadata ?? {})) {
    model.message(14, new Writer().string(1, key).string(2, value).finish());
  }
  const { chunks, length } = model.finish();
  const out = new Uint8Array(length);
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.length;
  }
  return out;
}

/** Little-endian bytes of a typed array (copy-free view on little-endian hosts). */
export function rawBytes(values: Float32Array | Int8Array | BigInt64Array | Int32Array): Uint8Array {
  if (!IS_LITTLE_ENDIAN) throw new Error('ONNX raw tensor data requires a little-endian host');
  return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
}

/** Helpers for small float/int64 initializers. */
export function floatTensor(name: string, dims: readonly number[], values: ArrayLike<number>): TensorSpec {
  return { name, dataType: OnnxDataType.FLOAT, dims, raw: rawBytes(Float32Array.from(values)) };
}

export function int64Tensor(name: string, dims: readonly number[], values: readonly number[]): TensorSpec {
  return {
    name,
    dataType: OnnxDataType.INT64,
    dims,
    raw: rawBytes(BigInt64Array.from(values, (v) => BigInt(v))),
  };
}

export const IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
