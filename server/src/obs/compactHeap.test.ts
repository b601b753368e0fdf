import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
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

/** Bytes of the old generation that are free (kept by V8, resident, holding nothing). */
function oldSpaceFree(): number {
  const old = getHeapSpaceStatistics().find((s) => s.space_name === 'old_space');
  return old ? old.space_size - old.space_used_size : 0;
}

test('compactHeap gives back the old-generation pages that plain full collections leave free', () => {
  setFlagsFromString('--expose-gc');
  const plainGc = runInNewContext('gc') as () => void;
  // Long-lived objects interleaved with twice as many short-lived ones, as a bulk load allocates.
  const kept: object[] = [];
  let churn: object[] = [];
  for (let i = 0; i < 3_000_000; i++) {
    const o = { a: i, b: [i] };
    if (i % 3 === 0) kept.push(o);
    else churn.push(o);
    if (churn.length > 300_000) churn = [];
  }
  churn = [];
  for (let i = 0; i < 3; i++) plainGc();
  const plain = oldSpaceFree();
  expect(compactHeap(3)).toBe(true);
  const compacted = oldSpaceFree();
  expect(plain).toBeGreaterThan(20 * 2 ** 20);
  expect(compacted).toBeLessThan(plain / 2);
  expect(kept.length).toBe(1_000_000);
});
