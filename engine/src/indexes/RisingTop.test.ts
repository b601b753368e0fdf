import { describe, expect, it } from 'vitest';
import { RisingTop } from './RisingTop';

describe('RisingTop', () => {
  it('always contains the true top items of values that only grow', () => {
    const values = new Float64Array(500);
    const top = new RisingTop(10, { raw: (id) => values[id]! });
    let seed = 1;
    const random = () => {
      seed = (seed * 16807) % 2147483647;
      return seed / 2147483647;
    };
    for (let step = 0; step < 20_000; step++) {
      const id = Math.floor(random() ** 2 * 500);
      values[id] = values[id]! + random();
      top.offer(id, values[id]!);
      if (step % 997 === 0) {
        const truth = [...values.keys()]
          .filter((id) => values[id]! > 0)
          .sort((a, b) => values[b]! - values[a]!)
          .slice(0, 10);
        const members = new Set(top.ids());
        for (const id of truth) expect(members.has(id)).toBe(true);
        expect(top.size).toBeLessThan(20);
      }
    }
  });
});
