import { type BuiltinEncoderOptions, createBuiltinEncoder } from './createBuiltinEncoder';
import { createTransformerEncoder, type TransformerEncoderOptions } from './createTransformerEncoder';
import type { EmbeddingEncoder } from './types';

/** Which encoder to build; chosen by configuration. */
export type TextEncoderOptions = BuiltinEncoderOptions | TransformerEncoderOptions;

/**
 * Builds a text encoder from configuration.
 *
 * @example
 * await createTextEncoder({ kind: 'builtin', dim: 256 });
 * await createTextEncoder({ kind: 'transformer', dir: '.recsys/models/all-MiniLM-L6-v2' });
 */
export async function createTextEncoder(options: TextEncoderOptions): Promise<EmbeddingEncoder> {
  switch (options.kind) {
    case 'builtin':
      return createBuiltinEncoder(options);
    case 'transformer':
      return createTransformerEncoder(options);
    default:
      throw new TypeError(
        `createTextEncoder: unknown kind "${String((options as { kind?: unknown }).kind)}"; use 'builtin' or 'transformer'`,
      );
  }
}
