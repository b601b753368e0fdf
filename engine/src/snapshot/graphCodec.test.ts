import { describe, expect, it } from 'vitest';
import { decodeGraph, encodeGraph } from './graphCodec';

class Point {
  constructor(
    public x: number,
    public y: number,
  ) {}

  norm(): number {
    return Math.hypot(this.x, this.y);
  }
}

class Holder {
  items: number[] = [];
  scores: number[] = [];
  names: Array<string | undefined> = [];
  point: Point | undefined;
  self: Holder | undefined;
}

const CLASSES = [Point, Holder];
const roundTrip = <T>(value: T): T => decodeGraph(encodeGraph(value, CLASSES), CLASSES) as T;

describe('graph codec', () => {
  it('reads number arrays back with the same values, integers and doubles, -0 and NaN included', () => {
    const ints = [0, 1, -1, 2 ** 31 - 1, -(2 ** 31), 42];
    const doubles = [0.5, -0, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 31, 1e-300, 3];
    const [a, b] = roundTrip([ints, doubles]);
    expect(a).toEqual(ints);
    expect(b).toHaveLength(doubles.length);
    expect(Object.is(b![1], -0)).toBe(true);
    expect(b![2]).toBeNaN();
    expect(b!.filter((_, i) => i !== 2)).toEqual(doubles.filter((_, i) => i !== 2));
  });

  it('writes an array of int32 numbers as 4 bytes a number, not a tagged value each', () => {
    const small = encodeGraph([], CLASSES).length;
    const thousand = encodeGraph(
      Array.from({ length: 1_000 }, (_, i) => i * 3),
      CLASSES,
    ).length;
    expect(thousand - small).toBe(1_000 * 4);
  });

  it('keeps holes, mixed arrays and arrays longer than the small-array limit as they were', () => {
    const holey: unknown[] = [1, 'a'];
    holey[4] = 2;
    const long = Array.from({ length: 5_000 }, (_, i) => (i % 2 ? `s${i}` : i));
    const longHoley: unknown[] = [];
    longHoley[3_000] = 'end';
    const [h, l, lh] = roundTrip([holey, long, longHoley]);
    expect(h).toHaveLength(5);
    expect(2 in h!).toBe(false);
    expect(h).toEqual(holey);
    expect(l).toEqual(long);
    expect(lh).toHaveLength(3_001);
    expect(0 in lh!).toBe(false);
    expect(lh![3_000]).toBe('end');
  });

  it('restores class instances with their prototype, fields and methods, sharing and cycles kept', () => {
    const shared = [7, 8, 9];
    const holder = new Holder();
    holder.items = shared;
    holder.scores = [0.25, 1.5];
    holder.names = ['a', undefined, 'a'];
    holder.point = new Point(3, 4);
    holder.self = holder;
    const back = roundTrip({ holder, again: shared, points: [new Point(1, 0), new Point(0, 2)] });
    expect(back.holder).toBeInstanceOf(Holder);
    expect(back.holder.self).toBe(back.holder);
    expect(back.holder.items).toBe(back.again);
    expect(back.holder.items).toEqual([7, 8, 9]);
    expect(back.holder.scores).toEqual([0.25, 1.5]);
    expect(back.holder.names).toEqual(['a', undefined, 'a']);
    expect(back.holder.point).toBeInstanceOf(Point);
    expect(back.holder.point!.norm()).toBe(5);
    expect(back.points.map((p) => p.norm())).toEqual([1, 2]);
    expect(Object.keys(back.holder)).toEqual(Object.keys(holder));
  });

  it('reads keys that are not plain identifiers one by one, never as code, and never as a prototype', () => {
    const odd = JSON.parse('{"a-b": 1, "0": 2, "x y": [3], "__proto__": {"polluted": true}}') as Record<
      string,
      unknown
    >;
    const back = roundTrip(odd);
    expect(Object.getPrototypeOf(back)).toBe(Object.prototype);
    expect((back as { polluted?: boolean }).polluted).toBeUndefined();
    expect(back['a-b']).toBe(1);
    expect(back['0']).toBe(2);
    expect(back['x y']).toEqual([3]);
  });

  it('restores plain objects of one shape with their own values each time', () => {
    const rows = Array.from({ length: 50 }, (_, i) => ({ item: i, score: i / 4, tag: i % 3 ? 'a' : 'b' }));
    expect(roundTrip(rows)).toEqual(rows);
  });
});
