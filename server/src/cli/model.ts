import type { Command } from 'commander';
import { UserError } from '../errors';

export interface ModelPullArgs {
  id: string;
  dir: string;
  baseUrl?: string | undefined;
  revision?: string | undefined;
  /** Injected in tests; the real network otherwise. */
  fetch?: typeof fetch;
  log?: (line: string) => void;
}

/**
 * Downloads a sentence-transformers ONNX export (model.onnx + tokenizer.json)
 * into `dir`, for `--embeddings transformer:<dir>`. Needs a machine that can
 * reach the model host; the built-in encoder needs nothing.
 */
export async function runModelPull(args: ModelPullArgs) {
  const log = args.log ?? ((line: string) => console.error(line));
  const { ModelPullError, pullModel } = await import('@recsys/engine');
  try {
    const pulled = await pullModel({
      id: args.id,
      dir: args.dir,
      ...(args.baseUrl ? { baseUrl: args.baseUrl } : {}),
      ...(args.revision ? { revision: args.revision } : {}),
      ...(args.fetch ? { fetch: args.fetch } : {}),
      onProgress: ({ file, bytes, total }) =>
        log(`${file}: ${(bytes / 1e6).toFixed(1)} MB${total ? ` of ${(total / 1e6).toFixed(1)} MB` : ''}`),
    });
    log(`Saved ${pulled.files.map((f) => f.file).join(', ')} to ${pulled.dir}.`);
    log(`Use it with: recsys serve --embeddings transformer:${pulled.dir}`);
    return pulled;
  } catch (error) {
    if (error instanceof ModelPullError) throw new UserError('BAD_REQUEST', error.message);
    throw error;
  }
}

export function registerModelCommand(program: Command) {
  program
    .command('model')
    .description('manage text-embedding models')
    .command('pull <id>')
    .description('download a sentence-transformers ONNX export, e.g. sentence-transformers/all-MiniLM-L6-v2')
    .option('-d, --dir <dir>', 'destination folder', 'models')
    .option('--base-url <url>', 'model host', undefined)
    .option('--revision <rev>', 'branch, tag or commit', undefined)
    .action(async (id: string, opts: { dir: string; baseUrl?: string; revision?: string }) => {
      const dir = opts.dir === 'models' ? `models/${id.replace(/[^A-Za-z0-9._-]+/g, '__')}` : opts.dir;
      await runModelPull({ id, dir, baseUrl: opts.baseUrl, revision: opts.revision });
    });
}
