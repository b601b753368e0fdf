import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import {
  type BuiltinModelOptions,
  buildBuiltinModelBytes,
  type ResolvedBuiltinModel,
  resolveBuiltinModel,
} from './builtinModel';
import { hashedFeatures } from './hashedFeatures';
import type { EmbeddingEncoder } from './types';

/** Options of the built-in (offline, generated) encoder. */
export interface BuiltinEncoderOptions extends BuiltinModelOptions {
  kind: 'builtin';
  /**
   * Texts per ONNX run. Larger batches amortise call overhead; padding to the
   * longest text in a batch wastes work when lengths vary a lot.
   * @default 64
   * @example { kind: 'builtin', batchSize: 128 }
   */
  batchSize?: number;
  /**
   * Folder where the generated `<modelId>.onnx` is cached. The file name holds
   * the model id, so a changed dim/seed never loads a stale model.
   * @default undefined (generate in memory every time)
   * @example { kind: 'builtin', cacheDir: '.recsys/models' }
   */
  cacheDir?: string;
  /**
   * onnxruntime intra-op threads.
   * @default onnxruntime's own default (all cores)
   * @example { kind: 'builtin', threads: 1 }
   */
  threads?: number;
  /**
   * Release the onnxruntime session (about 60 MB resident with the default table) after this long
   * without an `encode` call; the next call loads it again (about 0.4 s). A server embeds items in
   * bursts when the catalog changes and is idle in between. `0` keeps the session loaded.
   * @default 30_000
   * @example { kind: 'builtin', idleReleaseMs: 0 }
   */
  idleReleaseMs?: number;
}

/** The built-in encoder; `sessionLoaded` tells whether its onnxruntime session is in memory. */
export interface BuiltinEncoder extends EmbeddingEncoder {
  readonly sessionLoaded: boolean;
}

/**
 * Loads cached model bytes, or generates and (if asked) caches them.
 * A cache file that onnxruntime rejects is regenerated rather than trusted.
 */
async function loadSession(
  options: Pick<BuiltinEncoderOptions, 'cacheDir'>,
  modelId: string,
  generate: () => Uint8Array,
  sessionOptions: ort.InferenceSession.SessionOptions,
): Promise<ort.InferenceSession> {
  if (options.cacheDir === undefined) return ort.InferenceSession.create(generate(), sessionOptions);
  const file = join(options.cacheDir, `${modelId}.onnx`);
  const cached = await readFile(file).catch(() => undefined);
  if (cached !== undefined) {
    try {
      return await ort.InferenceSession.create(cached, sessionOptions);
    } catch {
      // Corrupt or truncated cache: fall through and rewrite it.
    }
  }
  const bytes = generate();
  await mkdir(options.cacheDir, { recursive: true });
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  await writeFile(tmp, bytes);
  await rename(tmp, file);
  return ort.InferenceSession.create(bytes, sessionOptions);
}

/**
 * Creates the built-in encoder: hashed word/bigram/char-3-gram features in
 * TypeScript, then a generated ONNX graph (embedding-table Gather, weighted
 * mean, L2 normalisation) run by onnxruntime-node. Deterministic and offline.
 *
 * @example
 * const encoder = await createBuiltinEncoder({ kind: 'builtin', dim: 128 });
 * const [v] = await encoder.encode(['Acme trail running shoe']);
 */
export async function createBuiltinEncoder(
  options: BuiltinEncoderOptions = { kind: 'builtin' },
): Promise<BuiltinEncoder> {
  const model = resolveBuiltinModel(options);
  return createHashedGraphEncoder(model, model.modelId, () => buildBuiltinModelBytes(model), options);
}

/**
 * Runs any graph over the built-in model's hashed features (`ids`, `weights` → `embedding` of
 * `model.dim`): the built-in encoder itself, or the learned cold-item encoder built on top of it.
 */
export async function createHashedGraphEncoder(
  model: ResolvedBuiltinModel,
  modelId: string,
  generate: () => Uint8Array,
  options: Omit<BuiltinEncoderOptions, 'kind'>,
): Promise<BuiltinEncoder> {
  const batchSize = options.batchSize ?? 64;
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new RangeError(`builtin encoder option "batchSize" must be a positive integer, got ${batchSize}`);
  }
  const idleReleaseMs = options.idleReleaseMs ?? 30_000;
  if (!(idleReleaseMs >= 0)) {
    throw new RangeError(`builtin encoder option "idleReleaseMs" must be ≥ 0, got ${idleReleaseMs}`);
  }
  const sessionOptions: ort.InferenceSession.SessionOptions = { graphOptimizationLevel: 'all' };
  if (options.threads !== undefined) sessionOptions.intraOpNumThreads = options.threads;
  const load = () => loadSession(options, modelId, generate, sessionOptions);
  // Loaded eagerly so a broken model or cache fails here, not at the first encode.
  let session: Promise<ort.InferenceSession> | undefined = Promise.resolve(await load());
  let disposed = false;
  let running = 0;
  let idleTimer: ReturnType<typeof setTimeout> | undefined;

  function releaseWhenIdle(): void {
    clearTimeout(idleTimer);
    if (idleReleaseMs === 0 || running > 0) return;
    idleTimer = setTimeout(() => {
      const s = session;
      session = undefined;
      void s?.then((loaded) => loaded.release()).catch(() => undefined);
    }, idleReleaseMs);
    idleTimer.unref?.();
  }

  async function runBatch(texts: readonly string[]): Promise<Float32Array[]> {
    if (disposed) throw new Error('builtin encoder was disposed; create a new one');
    session ??= load();
    const loaded = await session;
    const feats = texts.map((t) => hashedFeatures(t, model.features, model.seed));
    // At least one column: ORT rejects reductions over a zero-length axis in some kernels.
    const width = Math.max(1, ...feats.map((f) => f.ids.length));
    const ids = new BigInt64Array(texts.length * width);
    const weights = new Float32Array(texts.length * width);
    feats.forEach((f, row) => {
      const base = row * width;
      for (let j = 0; j < f.ids.length; j++) {
        ids[base + j] = BigInt(f.ids[j]!);
        weights[base + j] = f.weights[j]!;
      }
    });
    const out = await loaded.run({
      ids: new ort.Tensor('int64', ids, [texts.length, width]),
      weights: new ort.Tensor('float32', weights, [texts.length, width]),
    });
    const embedding = out['embedding'];
    if (embedding === undefined || !(embedding.data instanceof Float32Array)) {
      throw new Error('builtin encoder graph returned no float32 "embedding" output');
    }
    const data = embedding.data;
    // Views of the batch's output, not copies: 100k small allocations per catalog would leave the
    // allocator's heap fragmented into resident memory long after the vectors were indexed.
    return texts.map((_, row) => data.subarray(row * model.dim, (row + 1) * model.dim));
  }

  return {
    dim: model.dim,
    modelId,
    get sessionLoaded() {
      return session !== undefined;
    },
    async encode(texts) {
      running++;
      clearTimeout(idleTimer);
      try {
        const result: Float32Array[] = [];
        for (let i = 0; i < texts.length; i += batchSize) {
          result.push(...(await runBatch(texts.slice(i, i + batchSize))));
        }
        return result;
      } finally {
        running--;
        releaseWhenIdle();
      }
    },
    async dispose() {
      disposed = true;
      clearTimeout(idleTimer);
      const s = session;
      session = undefined;
      await (await s)?.release();
    },
  };
}
