import { describe, expect, it } from 'vitest';
import { ChangeStamps } from './changeStamps';
import { ChangeVersions } from './changeVersions';

const KEEP = 70_000;
const T = 1_000_000;

describe('ChangeVersions (the response cache key versions)', () => {
  it('moves a user version only for that user, and never back to an older transaction', () => {
    const versions = new ChangeVersions(KEEP);
    versions.userChanged('u1', 42, T);
    versions.userChanged('u1', 40, T + 1); // an older row applied later in the same poll
    expect(versions.user('u1', T + 2)).toBe('42');
    expect(versions.user('u2', T + 2)).toBe('0');
    expect(versions.namespace(T + 2)).toBe('0');
  });

  it('reports the same versions on two hosts that applied the same rows at different times', () => {
    const one = new ChangeVersions(KEEP);
    const two = new ChangeVersions(KEEP);
    one.namespaceChanged(7, T);
    one.userChanged('anon:v', 9, T);
    two.userChanged('anon:v', 9, T + 400);
    two.namespaceChanged(7, T + 450);
    expect([one.namespace(T + 500), one.user('anon:v', T + 500)]).toEqual([
      two.namespace(T + 500),
      two.user('anon:v', T + 500),
    ]);
  });

  it('a host that has just loaded shares no version with the others until the keep time has passed', () => {
    const loaded = new ChangeVersions(KEEP);
    loaded.loaded(120, T);
    expect(loaded.namespace(T)).toBe('L120');
    expect(loaded.user('u1', T)).toBe('L120');
    // A change after the load is the same version everywhere.
    loaded.userChanged('u1', 130, T + 1_000);
    expect(loaded.user('u1', T + 1_000)).toBe('130');
    expect(loaded.namespace(T + KEEP + 1_000)).toBe('0');
    expect(loaded.user('u2', T + KEEP + 1_000)).toBe('0');
  });

  it('forgets a version once it is older than the keep time, so the map holds only recent changes', () => {
    const versions = new ChangeVersions(KEEP);
    versions.userChanged('old', 5, T);
    versions.userChanged('recent', 6, T + KEEP / 2);
    versions.namespaceChanged(5, T);
    expect(versions.user('old', T + KEEP + 1)).toBe('0');
    expect(versions.user('recent', T + KEEP + 1)).toBe('6');
    expect(versions.namespace(T + KEEP + 1)).toBe('0');
  });

  it('moves the shared counters a list depends on as changes apply, an older row too, and only its own', () => {
    const table = new ChangeStamps();
    const shop = new ChangeVersions(KEEP, { table, namespaceId: 'shop' });
    const other = new ChangeVersions(KEEP, { table, namespaceId: 'other' });
    const reading = () => shop.readStamps(['u1', undefined])!;
    const before = reading();
    expect(before.slots).toHaveLength(2); // the namespace's and u1's: no visitor, no counter
    expect(before.slots).toEqual([table.namespaceSlot('shop'), table.userSlot('shop', 'u1')]);

    other.userChanged('u1', 50, T);
    other.namespaceChanged(50, T);
    shop.userChanged('u2', 50, T);
    expect(reading()).toEqual(before);

    shop.userChanged('u1', 42, T);
    const moved = reading();
    expect(moved.values[1]).toBeGreaterThan(before.values[1]!);
    shop.userChanged('u1', 40, T + 1); // an older row, applied after the reading
    expect(reading().values[1]).toBeGreaterThan(moved.values[1]!);
    expect(reading().values[0]).toBe(before.values[0]);

    shop.namespaceChanged(60, T + 2);
    expect(reading().values[0]).toBeGreaterThan(before.values[0]!);
    const reloaded = reading();
    shop.loaded(70, T + 3);
    expect(reading().values[0]).toBeGreaterThan(reloaded.values[0]!);
    // Another thread reads the same table through its buffer.
    expect(new ChangeStamps(table.buffer).read(reloaded.slots[0]!)).toBe(reading().values[0]);
  });

  it('reads no counters without a shared table', () => {
    expect(new ChangeVersions(KEEP).readStamps(['u1'])).toBeUndefined();
  });
});
