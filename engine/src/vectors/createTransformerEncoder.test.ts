import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mulberry32 } from '../util/random';
import { createTextEncoder } from './createTextEncoder';
import { createTransformerEncoder } from './createTransformerEncoder';
import { encodeModel, floatTensor, int64Tensor, type NodeSpec, OnnxDataType } from './onnxProto';

/*
 * A tiny BERT-shaped model made here: word + position + token-type embeddings,
 * a masked "attention-like" context mix (so padding must be masked inside the
 * model too), a dense layer and tanh. Plus a real WordPiece tokenizer.json.
 */
const VOCAB = [
  '[PAD]',
  '[UNK]',
  '[CLS]',
  '[SEP]',
  'red',
  'blue',
  'shoe',
  '##s',
  'running',
  'knife',
  'kitchen',
  'a',
  'very',
  'long',
  'sentence',
  'with',
  'many',
  'words',
  'in',
  'it',
];
const H = 8;
const P = 64;
const ID = Object.fromEntries(VOCAB.map((t, i) => [t, i])) as Record<string, number>;

const uniform = mulberry32(42);
/** Reproducible weights in [-0.5, 0.5). */
const r = () => uniform() - 0.5;
const wordEmb = Float32Array.from({ length: VOCAB.length * H }, r);
const posEmb = Float32Array.from({ length: P * H }, () => r() * 0.3);
const typeEmb = Float32Array.from({ length: 2 * H }, () => r() * 0.3);
const dense = Float32Array.from({ length: H * H }, r);

function bertModel(opts: { tokenTypes: boolean; sentenceOutput: boolean }): Uint8Array {
  const nodes: NodeSpec[] = [
    { opType: 'Gather', inputs: ['word_emb', 'input_ids'], outputs: ['we'] },
    { opType: 'Shape', inputs: ['input_ids'], outputs: ['shape'] },
    { opType: 'Gather', inputs: ['shape', 'one'], outputs: ['seq_len'] },
    { opType: 'Range', inputs: ['zero', 'seq_len', 'one'], outputs: ['pos_ids'] },
    { opType: 'Gather', inputs: ['pos_emb', 'pos_ids'], outputs: ['pe'] },
    { opType: 'Add', inputs: ['we', 'pe'], outputs: ['x1'] },
  ];
  if (opts.tokenTypes) {
    nodes.push(
      { opType: 'Gather', inputs: ['type_emb', 'token_type_ids'], outputs: ['te'] },
      { opType: 'Add', inputs: ['x1', 'te'], outputs: ['x2'] },
    );
  } else {
    nodes.push({ opType: 'Identity', inputs: ['x1'], outputs: ['x2'] });
  }
  nodes.push(
    {
      opType: 'Cast',
      inputs: ['attention_mask'],
      outputs: ['mf'],
      attributes: { to: { kind: 'int', value: 1 } },
    },
    { opType: 'Unsqueeze', inputs: ['mf', 'axis2'], outputs: ['m3'] },
    { opType: 'Mul', inputs: ['x2', 'm3'], outputs: ['xm'] },
    { opType: 'ReduceSum', inputs: ['xm', 'axis1'], outputs: ['xs'] },
    { opType: 'ReduceSum', inputs: ['m3', 'axis1'], outputs: ['ms'] },
    { opType: 'Div', inputs: ['xs', 'ms'], outputs: ['ctx'] },
    { opType: 'Add', inputs: ['x2', 'ctx'], outputs: ['x3'] },
    { opType: 'MatMul', inputs: ['x3', 'dense'], outputs: ['x4'] },
    { opType: 'Tanh', inputs: ['x4'], outputs: ['last_hidden_state'] },
  );
  if (opts.sentenceOutput)
    nodes.push({ opType: 'Squeeze', inputs: ['ctx', 'axis1'], outputs: ['sentence_embedding'] });
  const ids = { elemType: OnnxDataType.INT64, shape: ['batch', 'sequence'] } as const;
  return encodeModel({
    graphName: 'tiny_bert',
    opset: 13,
    inputs: [
      { name: 'input_ids', ...ids },
      { name: 'attention_mask', ...ids },
      ...(opts.tokenTypes ? [{ name: 'token_type_ids', ...ids }] : []),
    ],
    outputs: [
      { name: 'last_hidden_state', elemType: OnnxDataType.FLOAT, shape: ['batch', 'sequence', H] },
      ...(opts.sentenceOutput
        ? [{ name: 'sentence_embedding', elemType: OnnxDataType.FLOAT, shape: ['batch', H] }]
        : []),
    ],
    initializers: [
      floatTensor('word_emb', [VOCAB.length, H], wordEmb),
      floatTensor('pos_emb', [P, H], posEmb),
      ...(opts.tokenTypes ? [floatTensor('type_emb', [2, H], typeEmb)] : []),
      floatTensor('dense', [H, H], dense),
      int64Tensor('zero', [], [0]),
      int64Tensor('one', [], [1]),
      int64Tensor('axis1', [1], [1]),
      int64Tensor('axis2', [1], [2]),
    ],
    nodes,
  });
}

function tokenizerJson(): object {
  const special = (id: number, content: string) => ({
    id,
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true,
  });
  const tok = (id: string) => ({ SpecialToken: { id, type_id: 0 } });
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [special(0, '[PAD]'), special(1, '[UNK]'), special(2, '[CLS]'), special(3, '[SEP]')],
    normalizer: {
      type: 'BertNormalizer',
      clean_text: true,
      handle_chinese_chars: true,
      strip_accents: null,
      lowercase: true,
    },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [tok('[CLS]'), { Sequence: { id: 'A', type_id: 0 } }, tok('[SEP]')],
      pair: [
        tok('[CLS]'),
        { Sequence: { id: 'A', type_id: 0 } },
        tok('[SEP]'),
        { Sequence: { id: 'B', type_id: 1 } },
        { SpecialToken: { id: '[SEP]', type_id: 1 } },
      ],
      special_tokens: {
        '[CLS]': { id: '[CLS]', ids: [2], tokens: ['[CLS]'] },
        '[SEP]': { id: '[SEP]', ids: [3], tokens: ['[SEP]'] },
      },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: {
      type: 'WordPiece',
      unk_token: '[UNK]',
      continuing_subword_prefix: '##',
      max_input_chars_per_word: 100,
      vocab: ID,
    },
  };
}

/** Reference forward pass of the tiny model in plain TypeScript, for known token ids. */
function reference(tokenIds: number[], pooling: 'mean' | 'cls' | 'sentence', tokenTypes = true): number[] {
  const x2 = tokenIds.map((id, pos) =>
    Array.from(
      { length: H },
      (_, h) => wordEmb[id * H + h]! + posEmb[pos * H + h]! + (tokenTypes ? typeEmb[h]! : 0),
    ),
  );
  const ctx = Array.from({ length: H }, (_, h) => x2.reduce((s, row) => s + row[h]!, 0) / x2.length);
  const hidden = x2.map((row) =>
    Array.from({ length: H }, (_, o) =>
      Math.tanh(row.reduce((s, v, i) => s + (v + ctx[i]!) * dense[i * H + o]!, 0)),
    ),
  );
  const pooled =
    pooling === 'sentence'
      ? ctx
      : pooling === 'cls'
        ? hidden[0]!
        : Array.from({ length: H }, (_, h) => hidden.reduce((s, row) => s + row[h]!, 0) / hidden.length);
  const n = Math.sqrt(pooled.reduce((s, v) => s + v * v, 0));
  return pooled.map((v) => v / n);
}

function expectClose(actual: Float32Array, expected: number[]): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) expect(actual[i]).toBeCloseTo(expected[i]!, 5);
}

describe('transformer encoder', () => {
  let root: string;
  let dir: string;
  let noTypesDir: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'recsys-bert-'));
    dir = join(root, 'tiny-bert');
    noTypesDir = join(root, 'tiny-bert-st');
    await mkdir(dir);
    await mkdir(noTypesDir);
    await writeFile(join(dir, 'model.onnx'), bertModel({ tokenTypes: true, sentenceOutput: false }));
    await writeFile(join(dir, 'tokenizer.json'), JSON.stringify(tokenizerJson()));
    await writeFile(join(noTypesDir, 'model.onnx'), bertModel({ tokenTypes: false, sentenceOutput: true }));
    await writeFile(join(noTypesDir, 'tokenizer.json'), JSON.stringify(tokenizerJson()));
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  it('tokenizes with WordPiece, runs the model and mean-pools into a unit vector', async () => {
    const encoder = await createTransformerEncoder({ kind: 'transformer', dir });
    const [v] = await encoder.encode(['Red SHOES']);
    await encoder.dispose();
    expect(encoder.dim).toBe(H);
    // "Red SHOES" → [CLS] red shoe ##s [SEP]
    expectClose(v!, reference([ID['[CLS]']!, ID['red']!, ID['shoe']!, ID['##s']!, ID['[SEP]']!], 'mean'));
  });

  it('ignores padding: a sentence batched with a longer one gets the same vector as alone', async () => {
    const encoder = await createTransformerEncoder({ kind: 'transformer', dir });
    const [alone] = await encoder.encode(['red shoe']);
    const [batched, long] = await encoder.encode(['red shoe', 'a very long sentence with many words in it']);
    await encoder.dispose();
    expectClose(batched!, Array.from(alone!));
    expect(Math.abs(batched!.reduce((s, x, i) => s + x * long![i]!, 0))).toBeLessThan(0.999);
  });

  it('uses the first token with cls pooling', async () => {
    const encoder = await createTransformerEncoder({ kind: 'transformer', dir, pooling: 'cls' });
    const [v] = await encoder.encode(['blue knife']);
    await encoder.dispose();
    expectClose(v!, reference([ID['[CLS]']!, ID['blue']!, ID['knife']!, ID['[SEP]']!], 'cls'));
  });

  it('truncates to maxLength while keeping [CLS] and [SEP]', async () => {
    const encoder = await createTransformerEncoder({ kind: 'transformer', dir, maxLength: 5 });
    const [v] = await encoder.encode(['a very long sentence with many words']);
    await encoder.dispose();
    expectClose(v!, reference([ID['[CLS]']!, ID['a']!, ID['very']!, ID['long']!, ID['[SEP]']!], 'mean'));
  });

  it('batches internally and keeps the input order', async () => {
    const encoder = await createTransformerEncoder({ kind: 'transformer', dir, batchSize: 2 });
    const texts = ['red shoe', 'blue knife', 'kitchen knife', 'running shoes', 'a sentence'];
    const batched = await encoder.encode(texts);
    const single = await Promise.all(texts.map(async (t) => (await encoder.encode([t]))[0]!));
    await encoder.dispose();
    expect(batched).toHaveLength(5);
    for (let i = 0; i < texts.length; i++) expectClose(batched[i]!, Array.from(single[i]!));
  });

  it('feeds only the inputs the model declares and prefers its sentence_embedding output', async () => {
    const encoder = await createTransformerEncoder({ kind: 'transformer', dir: noTypesDir });
    const [v] = await encoder.encode(['red shoe']);
    await encoder.dispose();
    const ids = [ID['[CLS]']!, ID['red']!, ID['shoe']!, ID['[SEP]']!];
    expectClose(v!, reference(ids, 'sentence', false));
    expect(encoder.modelId).toContain('-model-');

    const meanEncoder = await createTransformerEncoder({
      kind: 'transformer',
      dir: noTypesDir,
      pooling: 'mean',
    });
    const [m] = await meanEncoder.encode(['red shoe']);
    await meanEncoder.dispose();
    expectClose(m!, reference(ids, 'mean', false));
  });

  it('derives a model id from name, pooling, max length, dim and file contents', async () => {
    const a = await createTransformerEncoder({ kind: 'transformer', dir, maxLength: 128 });
    const b = await createTransformerEncoder({ kind: 'transformer', dir, maxLength: 128, pooling: 'cls' });
    await a.dispose();
    await b.dispose();
    expect(a.modelId).toMatch(/^transformer-tiny-bert-mean-l128-d8-[0-9a-f]{12}$/);
    expect(b.modelId).not.toBe(a.modelId);
  });

  it('explains how to fix a folder without model.onnx', async () => {
    await expect(
      createTransformerEncoder({ kind: 'transformer', dir: join(root, 'missing') }),
    ).rejects.toThrow(/model\.onnx.*recsys model pull/s);
  });

  it('rejects a model whose inputs are not BERT-like', async () => {
    const odd = join(root, 'odd');
    await mkdir(odd);
    await writeFile(join(odd, 'tokenizer.json'), JSON.stringify(tokenizerJson()));
    await writeFile(
      join(odd, 'model.onnx'),
      encodeModel({
        graphName: 'odd',
        opset: 13,
        inputs: [{ name: 'pixels', elemType: OnnxDataType.FLOAT, shape: [1, 4] }],
        outputs: [{ name: 'out', elemType: OnnxDataType.FLOAT, shape: [1, 4] }],
        initializers: [],
        nodes: [{ opType: 'Identity', inputs: ['pixels'], outputs: ['out'] }],
      }),
    );
    await expect(createTransformerEncoder({ kind: 'transformer', dir: odd })).rejects.toThrow(
      /inputs \[pixels\]/,
    );
  });
});

describe('createTextEncoder', () => {
  it('builds the encoder named by kind and rejects unknown kinds', async () => {
    const builtin = await createTextEncoder({ kind: 'builtin', dim: 16, buckets: 256 });
    expect(builtin.dim).toBe(16);
    expect(builtin.modelId).toMatch(/^builtin-/);
    await builtin.dispose();
    await expect(createTextEncoder({ kind: 'bogus' } as never)).rejects.toThrow(/unknown kind "bogus"/);
  });
});
