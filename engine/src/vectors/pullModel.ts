import { mkdir, open, rename, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';

/** One file to download: its path in the repository and its local name. */
export interface ModelFileSpec {
  /**
   * Path inside the model repository.
   * @example 'onnx/model_quantized.onnx'
   */
  remote: string;
  /**
   * File name written in `dir`.
   * @example 'model.onnx'
   */
  local: string;
  /**
   * A 404 on an optional file is skipped instead of failing the pull.
   * @default false
   * @example { remote: 'config.json', local: 'config.json', optional: true }
   */
  optional?: boolean;
}

/** The files a sentence-transformers ONNX export needs for `createTransformerEncoder`. */
export const DEFAULT_MODEL_FILES: readonly ModelFileSpec[] = [
  { remote: 'onnx/model.onnx', local: 'model.onnx' },
  { remote: 'tokenizer.json', local: 'tokenizer.json' },
  { remote: 'tokenizer_config.json', local: 'tokenizer_config.json', optional: true },
  { remote: 'config.json', local: 'config.json', optional: true },
];

/** Options of `pullModel` (`recsys model pull <id>`). */
export interface PullModelOptions {
  /**
   * Repository id, `owner/name`.
   * @example { id: 'sentence-transformers/all-MiniLM-L6-v2' }
   */
  id: string;
  /**
   * Target folder; created when missing. Existing files are replaced only after
   * every required file downloaded.
   * @example { dir: '.recsys/models/all-MiniLM-L6-v2' }
   */
  dir: string;
  /**
   * The fetch to use (tests, proxies, auth headers).
   * @default globalThis.fetch
   * @example { fetch: (url, init) => fetch(url, { ...init, headers: { authorization: `Bearer ${token}` } }) }
   */
  fetch?: typeof fetch;
  /**
   * Hub base URL; files are fetched from `<baseUrl>/<id>/resolve/<revision>/<remote>`.
   * @default 'https://huggingface.co'
   * @example { baseUrl: 'https://models.internal.example' }
   */
  baseUrl?: string;
  /**
   * Branch, tag or commit.
   * @default 'main'
   * @example { revision: 'v1.0' }
   */
  revision?: string;
  /**
   * Files to fetch.
   * @default DEFAULT_MODEL_FILES (onnx/model.onnx, tokenizer.json, optional tokenizer_config.json and config.json)
   * @example { files: [{ remote: 'onnx/model_quantized.onnx', local: 'model.onnx' }, { remote: 'tokenizer.json', local: 'tokenizer.json' }] }
   */
  files?: readonly ModelFileSpec[];
  /**
   * Called after each received chunk.
   * @default undefined
   * @example { onProgress: ({ file, bytes }) => console.log(file, bytes) }
   */
  onProgress?: (progress: { file: string; bytes: number; total: number | undefined }) => void;
  /**
   * Aborts the downloads (temporary files are removed).
   * @default undefined
   * @example { signal: AbortSignal.timeout(10 * 60_000) }
   */
  signal?: AbortSignal;
}

/** What `pullModel` wrote. */
export interface PulledModel {
  dir: string;
  files: Array<{ file: string; url: string; bytes: number }>;
  /** Optional files the repository does not have. */
  skipped: string[];
}

/** Raised for any failed pull; `status` is set for HTTP failures. */
export class ModelPullError extends Error {
  override name = 'ModelPullError';
  constructor(
    message: string,
    readonly url: string,
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

const ID_PATTERN = /^[A-Za-z0-9][\w.-]*(\/[A-Za-z0-9][\w.-]*)?$/;

/**
 * Downloads a model (by default a sentence-transformers ONNX export from the
 * Hugging Face hub) into `dir`, streaming each file to a temporary name and
 * renaming into place only when all required files arrived, so a failed pull
 * never leaves a half-written model behind.
 *
 * @example
 * await pullModel({ id: 'sentence-transformers/all-MiniLM-L6-v2', dir: '.recsys/models/minilm' });
 */
export async function pullModel(options: PullModelOptions): Promise<PulledModel> {
  if (!ID_PATTERN.test(options.id) || options.id.includes('..')) {
    throw new TypeError(
      `pullModel: invalid model id "${options.id}"; expected "owner/name", e.g. "BAAI/bge-small-en-v1.5"`,
    );
  }
  const doFetch = options.fetch ?? globalThis.fetch;
  const base = (options.baseUrl ?? 'https://huggingface.co').replace(/\/+$/, '');
  const revision = encodeURIComponent(options.revision ?? 'main');
  const dir = resolve(options.dir);
  await mkdir(dir, { recursive: true });

  const staged: Array<{ tmp: string; target: string; file: string; url: string; bytes: number }> = [];
  const skipped: string[] = [];
  try {
    for (const spec of options.files ?? DEFAULT_MODEL_FILES) {
      const url = `${base}/${options.id}/resolve/${revision}/${spec.remote}`;
      const tmp = join(dir, `.${spec.local}.${process.pid}.${Date.now()}.part`);
      const bytes = await download(doFetch, url, tmp, spec, options);
      if (bytes === undefined) {
        skipped.push(spec.local);
        continue;
      }
      staged.push({ tmp, target: join(dir, spec.local), file: spec.local, url, bytes });
    }
  } catch (err) {
    await Promise.all(staged.map((s) => rm(s.tmp, { force: true })));
    throw err;
  }
  for (const s of staged) await rename(s.tmp, s.target);
  return { dir, files: staged.map(({ file, url, bytes }) => ({ file, url, bytes })), skipped };
}

/** Streams one URL to `tmp`; returns bytes written, or undefined for a missing optional file. */
async function download(
  doFetch: typeof fetch,
  url: string,
  tmp: string,
  spec: ModelFileSpec,
  options: PullModelOptions,
): Promise<number | undefined> {
  let res: Response;
  try {
    res = await doFetch(
      url,
      options.signal ? { signal: options.signal, redirect: 'follow' } : { redirect: 'follow' },
    );
  } catch (err) {
    throw new ModelPullError(
      `pullModel: network error while downloading ${url}: ${(err as Error).message}. Check connectivity or set "baseUrl".`,
      url,
      undefined,
      { cause: err },
    );
  }
  if (res.status === 404) {
    discard(res);
    if (spec.optional) return undefined;
    throw new ModelPullError(
      `pullModel: ${spec.remote} not found for model "${options.id}" (HTTP 404 at ${url}). ` +
        'Check the id and revision, and that the repository ships an ONNX export.',
      url,
      404,
    );
  }
  if (!res.ok || res.body === null) {
    discard(res);
    const hint =
      res.status === 401 || res.status === 403
        ? ' The model may be gated or private: pass a fetch that adds credentials.'
        : '';
    throw new ModelPullError(
      `pullModel: HTTP ${res.status} while downloading ${url}.${hint}`,
      url,
      res.status,
    );
  }
  // With a content-encoding the header counts compressed bytes while the body is decoded.
  const lengthHeader = res.headers.get('content-encoding') ? null : res.headers.get('content-length');
  const total = lengthHeader === null ? undefined : Number(lengthHeader);
  const handle = await open(tmp, 'w');
  let bytes = 0;
  try {
    const reader = res.body.getReader();
    for (;;) {
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await reader.read();
      } catch (err) {
        throw new ModelPullError(
          `pullModel: connection lost after ${bytes} bytes of ${url}: ${(err as Error).message}`,
          url,
          undefined,
          { cause: err },
        );
      }
      if (chunk.done) break;
      // Awaiting each write keeps memory flat however large the model is.
      await handle.write(chunk.value);
      bytes += chunk.value.length;
      options.onProgress?.({ file: spec.local, bytes, total });
    }
  } catch (err) {
    await handle.close();
    await rm(tmp, { force: true });
    throw err;
  }
  await handle.close();
  if (total !== undefined && Number.isFinite(total) && bytes !== total) {
    await rm(tmp, { force: true });
    throw new ModelPullError(`pullModel: ${url} ended after ${bytes} of ${total} bytes; retry the pull`, url);
  }
  return bytes;
}

/** Frees an unread error body; not awaited because some streams only settle once read. */
function discard(res: Response): void {
  res.body?.cancel().catch(() => undefined);
}
