import { describe, expect, it } from 'vitest';
import { itemText, textHash } from './itemText';
import { bytesToVector, vectorToBytes } from './vectorBytes';

const item = {
  title: ' Trail Runner 2 ',
  description: 'Lightweight shoe for rocky paths.',
  tags: ['brand:acme-sports', 'category:shoes>running_shoes', 'color:black'],
};

describe('itemText', () => {
  it('joins title, description, brand and category tags in that order', () => {
    expect(itemText(item)).toBe(
      'Trail Runner 2. Lightweight shoe for rocky paths. acme sports. shoes running shoes',
    );
  });

  it('uses only the requested fields and skips missing ones', () => {
    expect(itemText(item, ['brand', 'title'])).toBe('acme sports. Trail Runner 2');
    expect(itemText({ tags: [] })).toBe('');
    expect(itemText({ title: 'Mug', tags: ['category:kitchen', 'category:gifts'] }, ['category'])).toBe(
      'kitchen. gifts',
    );
  });

  it('rejects an unknown field with the allowed list', () => {
    expect(() => itemText(item, ['price' as never])).toThrow(
      /unknown field "price".*title, description, brand, category/,
    );
  });
});

describe('textHash', () => {
  it('is a sha256 hex that changes with the text or the model id only', () => {
    const h = textHash('red shoe', 'builtin-hash-v1-d256');
    expect(h).toMatch(/^[0-9a-f]{64}$/);
    expect(textHash('red shoe', 'builtin-hash-v1-d256')).toBe(h);
    expect(textHash('red shoes', 'builtin-hash-v1-d256')).not.toBe(h);
    expect(textHash('red shoe', 'builtin-hash-v1-d128')).not.toBe(h);
    expect(textHash('ab', 'c')).not.toBe(textHash('a', 'bc'));
  });
});

describe('vector bytes', () => {
  it('round-trips float32 vectors through little-endian bytes', () => {
    const v = new Float32Array([1, -0.5, 3.25e-8, 1e30]);
    const bytes = vectorToBytes(v);
    expect(bytes.length).toBe(16);
    // 1.0f little-endian is 00 00 80 3f.
    expect(Array.from(bytes.subarray(0, 4))).toEqual([0x00, 0x00, 0x80, 0x3f]);
    expect(Array.from(bytesToVector(bytes))).toEqual(Array.from(v));
  });

  it('reads from an unaligned view of a larger buffer, as database drivers return', () => {
    const buf = new Uint8Array(3 + 8);
    buf.set(vectorToBytes(new Float32Array([0.25, -2])), 3);
    expect(Array.from(bytesToVector(buf.subarray(3), 2))).toEqual([0.25, -2]);
  });

  it('rejects byte lengths that are not whole floats or not the expected dim', () => {
    expect(() => bytesToVector(new Uint8Array(7))).toThrow(/not a whole number of float32/);
    expect(() => bytesToVector(new Uint8Array(8), 3)).toThrow(/got 2 floats but expected 3/);
  });
});
