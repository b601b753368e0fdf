import { fmix32, fnv1a32 } from '../util/random';
/**
 * Text → hashed sparse features for the built-in encoder. This half of the
 * encoder runs in TypeScript (string work ONNX is bad at); the ONNX graph then
 * turns `(ids, weights)` into a dense vector.
 */

/** Tuning of the feature extractor. Changing any of these changes the model id. */
export interface HashedFeatureOptions {
  /**
   * Number of hash buckets (rows of the embedding table); set through the
   * encoder's `buckets` option.
   * @default 131072
   * @example 65536
   */
  buckets: number;
  /**
   * Weight of each word unigram.
   * @default 1
   * @example { wordWeight: 1 }
   */
  wordWeight: number;
  /**
   * Weight of each adjacent-word bigram; captures phrases like "running shoe".
   * @default 0.5
   * @example { bigramWeight: 0 }
   */
  bigramWeight: number;
  /**
   * Weight of each character 3-gram of a word (with `<`/`>` boundary marks);
   * makes "shoe"/"shoes" or typos land close together.
   * @default 0.25
   * @example { trigramWeight: 0.1 }
   */
  trigramWeight: number;
  /**
   * Words beyond this are ignored, so a long description cannot drown the title.
   * @default 128
   * @example { maxWords: 64 }
   */
  maxWords: number;
}

export const DEFAULT_FEATURE_OPTIONS: Omit<HashedFeatureOptions, 'buckets'> = {
  wordWeight: 1,
  bigramWeight: 0.5,
  trigramWeight: 0.25,
  maxWords: 128,
};

/** Sparse features of one text: distinct bucket ids and their summed weights. */
export interface HashedFeatures {
  ids: Int32Array;
  weights: Float32Array;
}

/**
 * Lower-cases, folds accents (é → e) and splits on anything that is not a
 * letter or digit. Exported so tests and callers see exactly what the encoder sees.
 */
export function normalizeTokens(text: string): string[] {
  const folded = text
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '')
    .toLowerCase();
  return folded.split(/[^\p{L}\p{N}]+/u).filter((t) => t.length > 0);
}

/** Extracts word unigrams, bigrams and char 3-grams as hashed bucket ids with weights. */
export function hashedFeatures(text: string, options: HashedFeatureOptions, seed: number): HashedFeatures {
  const words = normalizeTokens(text).slice(0, options.maxWords);
  const acc = new Map<number, number>();
  const add = (feature: string, weight: number): void => {
    if (weight === 0) return;
    // FNV-1a mixed by the murmur3 finaliser, so `% buckets` spreads well for power-of-two counts.
    const id = fmix32(fnv1a32(feature, seed)) % options.buckets;
    acc.set(id, (acc.get(id) ?? 0) + weight);
  };
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    // Prefixes keep the three feature kinds in separate hash spaces.
    add('w\u0001' + w, options.wordWeight);
    if (i > 0) add('b\u0001' + words[i - 1] + ' ' + w, options.bigramWeight);
    const marked = '<' + w + '>';
    if (marked.length > 3) {
      for (let j = 0; j + 3 <= marked.length; j++)
        add('c\u0001' + marked.slice(j, j + 3), options.trigramWeight);
    }
  }
  const ids = new Int32Array(acc.size);
  const weights = new Float32Array(acc.size);
  let k = 0;
  for (const [id, weight] of acc) {
    ids[k] = id;
    weights[k] = weight;
    k++;
  }
  return { ids, weights };
}
