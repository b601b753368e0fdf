import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import * as ort from 'onnxruntime-node';
import type { EmbeddingEncoder } from './types';

/** How token vectors become one sentence vector. */
export type Pooling = 'mean' | 'cls';

/** Options of the transformer (sentence-transformers ONNX export) encoder. */
export interface TransformerEncoderOptions {
  kind: 'transformer';
  /**
   * Local folder holding `model.onnx` and `tokenizer.json` (optionally
   * `tokenizer_config.json`), e.g. what `pullModel` writes.
   * @example { kind: 'transformer', dir: '.recsys/models/all-MiniLM-L6-v2' }
   */
  dir: string;
  /**
   * Tokens per text including special tokens; longer texts are truncated
   * (keeping [CLS]/[SEP]).
   * @default 256
   * @example { kind: 'transformer', dir, maxLength: 128 }
   */
  maxLength?: number;
  /**
   * `mean`: attention-masked mean of `last_hidden_state` (sentence-transformers
   * default, e.g. all-MiniLM-L6-v2); `cls`: first token (bge models). When
   * omitted and the model has a `sentence_embedding` output, that output is
   * used as is.
   * @default 'mean' (or the model's `sentence_embedding` output when present)
   * @example { kind: 'transformer', dir, pooling: 'cls' }
   */
  pooling?: Pooling;
  /**
   * Texts per ONNX run.
   * @default 32
   * @example { kind: 'transformer', dir, batchSize: 8 }
   */
  batchSize?: number;
  /**
   * Name used in `modelId`.
   * @default the folder name
   * @example { kind: 'transformer', dir, name: 'minilm' }
   */
  name?: string;
  /**
   * onnxruntime intra-op threads.
   * @default onnxruntime's own default (all cores)
   * @example { kind: 'transformer', dir, threads: 2 }
   */
  threads?: number;
}

interface TokenizedText {
  ids: number[];
  typeIds: number[];
}

async function readRequired(dir: string, file: string): Promise<Buffer> {
  try {
    return await readFile(join(dir, file));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new Error(
      `transformer encoder: cannot read ${join(dir, file)} (${code ?? String(err)}). ` +
        'Point "dir" at a sentence-transformers ONNX export (model.onnx + tokenizer.json), ' +
        'e.g. one downloaded with `recsys model pull <id>`.',
    );
  }
}

function parseJson(bytes: Buffer, where: string): object {
  try {
    const value: unknown = JSON.parse(bytes.toString('utf8'));
    if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Error('not an object');
    return value;
  } catch (err) {
    throw new Error(`transformer encoder: ${where} is not a valid JSON object (${(err as Error).message})`);
  }
}

/**
 * Creates an encoder from a local BERT-family ONNX export: real WordPiece/BPE
 * tokenisation with @huggingface/tokenizers, truncation, masked pooling and L2
 * normalisation. Feeds only the inputs the model declares (`input_ids`,
 * `attention_mask`, `token_type_ids`).
 *
 * @example
 * const encoder = await createTransformerEncoder({ kind: 'transformer', dir: 'models/bge-small', pooling: 'cls' });
 */
export async function createTransformerEncoder(
  options: TransformerEncoderOptions,
): Promise<EmbeddingEncoder> {
  const dir = resolve(options.dir);
  const maxLength = options.maxLength ?? 256;
  const batchSize = options.batchSize ?? 32;
  if (!Number.isInteger(maxLength) || maxLength < 2) {
    throw new RangeError(`transformer encoder option "maxLength" must be an integer ≥ 2, got ${maxLength}`);
  }
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new RangeError(
      `transformer encoder option "batchSize" must be a positive integer, got ${batchSize}`,
    );
  }
  if (options.pooling !== undefined && options.pooling !== 'mean' && options.pooling !== 'cls') {
    throw new TypeError(
      `transformer encoder option "pooling" must be 'mean' or 'cls', got ${String(options.pooling)}`,
    );
  }

  const [modelBytes, tokenizerBytes] = await Promise.all([
    readRequired(dir, 'model.onnx'),
    readRequired(dir, 'tokenizer.json'),
  ]);
  const configBytes = await readFile(join(dir, 'tokenizer_config.json')).catch(() => undefined);
  const tokenizerJson = parseJson(tokenizerBytes, join(dir, 'tokenizer.json'));
  const tokenizerConfig = configBytes ? parseJson(configBytes, join(dir, 'tokenizer_config.json')) : {};
  const tokenizer = new Tokenizer(tokenizerJson, tokenizerConfig);
  const padId = readPadId(tokenizerJson, tokenizer);

  const sessionOptions: ort.InferenceSession.SessionOptions = { graphOptimizationLevel: 'all' };
  if (options.threads !== undefined) sessionOptions.intraOpNumThreads = options.threads;
  let session: ort.InferenceSession | undefined;
  try {
    session = await ort.InferenceSession.create(modelBytes, sessionOptions);
  } catch (err) {
    throw new Error(
      `transformer encoder: onnxruntime could not load ${join(dir, 'model.onnx')}: ${(err as Error).message}`,
    );
  }

  const known = new Set(['input_ids', 'attention_mask', 'token_type_ids']);
  const unknownInputs = session.inputNames.filter((n) => !known.has(n));
  if (!session.inputNames.includes('input_ids') || unknownInputs.length > 0) {
    throw new Error(
      `transformer encoder: ${join(dir, 'model.onnx')} has inputs [${session.inputNames.join(', ')}]; ` +
        'expected input_ids plus optional attention_mask/token_type_ids (a BERT-style encoder export)',
    );
  }
  const useSentenceOutput =
    options.pooling === undefined && session.outputNames.includes('sentence_embedding');
  const pooling: Pooling | 'model' = useSentenceOutput ? 'model' : (options.pooling ?? 'mean');
  const tokenOutput =
    ['last_hidden_state', 'token_embeddings'].find((n) => session?.outputNames.includes(n)) ??
    session.outputNames[0];
  const outputName = useSentenceOutput ? 'sentence_embedding' : tokenOutput;
  if (outputName === undefined)
    throw new Error(`transformer encoder: ${join(dir, 'model.onnx')} has no outputs`);

  function tokenize(text: string): TokenizedText {
    const full = tokenizer.encode(text, { return_token_type_ids: true });
    const typeIds = full.token_type_ids ?? full.ids.map(() => 0);
    if (full.ids.length <= maxLength) return { ids: full.ids, typeIds };
    // The library has no truncation; cut the content and keep the special tokens
    // the post-processor placed around it (e.g. [CLS] … [SEP]).
    const content = tokenizer.encode(text, { add_special_tokens: false }).ids;
    const specials = full.ids.length - content.length;
    let prefix = 0;
    while (prefix < specials && !sameAt(full.ids, content, prefix)) prefix++;
    const keep = Math.max(0, maxLength - specials);
    const end = prefix + content.length;
    const pick = (arr: number[]): number[] => [...arr.slice(0, prefix + keep), ...arr.slice(end)];
    return { ids: pick(full.ids), typeIds: pick(typeIds) };
  }

  async function runBatch(texts: readonly string[]): Promise<Float32Array[]> {
    if (session === undefined) throw new Error('transformer encoder was disposed; create a new one');
    const tokens = texts.map(tokenize);
    const seq = Math.max(1, ...tokens.map((t) => t.ids.length));
    const n = texts.length;
    const inputIds = new BigInt64Array(n * seq).fill(BigInt(padId));
    const mask = new BigInt64Array(n * seq);
    const typeIds = new BigInt64Array(n * seq);
    tokens.forEach((t, row) => {
      for (let j = 0; j < t.ids.length; j++) {
        inputIds[row * seq + j] = BigInt(t.ids[j]!);
        mask[row * seq + j] = 1n;
        typeIds[row * seq + j] = BigInt(t.typeIds[j] ?? 0);
      }
    });
    const all: Record<string, ort.Tensor> = {
      input_ids: new ort.Tensor('int64', inputIds, [n, seq]),
      attention_mask: new ort.Tensor('int64', mask, [n, seq]),
      token_type_ids: new ort.Tensor('int64', typeIds, [n, seq]),
    };
    const feeds: Record<string, ort.Tensor> = {};
    for (const name of session.inputNames) feeds[name] = all[name]!;
    const out = (await session.run(feeds, [outputName!]))[outputName!];
    if (out === undefined || !(out.data instanceof Float32Array)) {
      throw new Error(`transformer encoder: output "${outputName}" is missing or not float32`);
    }
    return pool(out.data, out.dims, tokens, pooling);
  }

  async function encode(texts: readonly string[]): Promise<Float32Array[]> {
    const result: Float32Array[] = [];
    for (let i = 0; i < texts.length; i += batchSize)
      result.push(...(await runBatch(texts.slice(i, i + batchSize))));
    return result;
  }

  // Hidden size is often symbolic in metadata; one probe run gives the truth.
  const probe = await encode(['dimension probe']);
  const dim = probe[0]!.length;
  const digest = createHash('sha256').update(modelBytes).update(tokenizerBytes).digest('hex').slice(0, 12);
  const name = (options.name ?? basename(dir)).replace(/[^A-Za-z0-9._-]+/g, '_');
  const modelId = `transformer-${name}-${pooling}-l${maxLength}-d${dim}-${digest}`;

  return {
    dim,
    modelId,
    encode,
    async dispose() {
      const s = session;
      session = undefined;
      await s?.release();
    },
  };
}

function sameAt(full: number[], content: number[], offset: number): boolean {
  for (let i = 0; i < Math.min(content.length, 8); i++) if (full[offset + i] !== content[i]) return false;
  return true;
}

function readPadId(json: object, tokenizer: Tokenizer): number {
  const padding = (json as { padding?: { pad_id?: unknown } | null }).padding;
  if (padding && typeof padding.pad_id === 'number') return padding.pad_id;
  return tokenizer.token_to_id('[PAD]') ?? tokenizer.token_to_id('<pad>') ?? 0;
}

function normalizeInPlace(v: Float32Array): Float32Array {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i]! * v[i]!;
  const norm = Math.sqrt(s);
  if (norm > 1e-12) for (let i = 0; i < v.length; i++) v[i]! /= norm;
  return v;
}

/** Pools `[batch, seq, hidden]` token vectors (or passes `[batch, dim]` through) and L2-normalises. */
function pool(
  data: Float32Array,
  dims: readonly number[],
  tokens: readonly TokenizedText[],
  pooling: Pooling | 'model',
): Float32Array[] {
  if (pooling === 'model' || dims.length === 2) {
    const d = dims[dims.length - 1]!;
    // Views of the output, normalised in place (see the built-in encoder: no per-item allocation).
    return tokens.map((_, row) => normalizeInPlace(data.subarray(row * d, (row + 1) * d)));
  }
  if (dims.length !== 3)
    throw new Error(`transformer encoder: expected a [batch, seq, hidden] output, got [${dims}]`);
  const seq = dims[1]!;
  const hidden = dims[2]!;
  return tokens.map((t, row) => {
    const v = new Float32Array(hidden);
    const base = row * seq * hidden;
    if (pooling === 'cls') {
      v.set(data.subarray(base, base + hidden));
    } else {
      // Only real tokens count: padding positions (mask 0) are never summed.
      const len = Math.min(t.ids.length, seq);
      for (let j = 0; j < len; j++) {
        const off = base + j * hidden;
        for (let h = 0; h < hidden; h++) v[h]! += data[off + h]!;
      }
      for (let h = 0; h < hidden; h++) v[h]! /= Math.max(1, len);
    }
    return normalizeInPlace(v);
  });
}
