import { expect, test } from 'vitest';
import { compactHeap } from './compactHeap';

test('compactHeap runs real full collections, even without --expose-gc', async () => {
  let garbage: object | undefined = { big: new Array(100_000).fill(1) };
  const ref = new WeakRef(garbage);
  garbage = undefined;
  // WeakRef targets stay alive until the current job ends.
  await new Promise((r) => setTimeout(r, 0));
  expect(compactHeap(1)).toBe(true);
  expect(ref.deref()).toBeUndefined();
});
