import { describe, expect, it } from 'vitest';
import { ChangeVersions } from '../replicate/changeVersions';
import { createNamespaceRuntime } from '../replicate/namespaceRuntime';
import { recRequestOf, responseCacheKey } from './serveList';

const START = Date.parse('2026-12-24T00:00:00Z');

describe('responseCacheKey', () => {
  const rt = createNamespaceRuntime('shop', null, new ChangeVersions(70_000));
  rt.engine.setRules([
    {
      id: 'xmas',
      kind: 'pin',
      items: { itemIds: ['tree'] },
      slot: 0,
      schedule: { start: '2026-12-24T00:00:00Z' },
    },
  ]);
  const key = (input: Parameters<typeof recRequestOf>[2], now = START) =>
    responseCacheKey(rt, recRequestOf(rt, 'forUser', input), undefined, now);
  const base = { k: 4, explain: false, anonymousId: 'v1' };

  it('changes when a scheduled rule starts, and not while nothing does', () => {
    expect(key(base, START - 2)).toBe(key(base, START - 1));
    expect(key(base, START - 1)).not.toBe(key(base, START));
  });

  it('changes with what the visitor asks and who asks, not with explain or trace', () => {
    expect(key({ ...base, k: 5 })).not.toBe(key(base));
    expect(key({ ...base, anonymousId: 'v2' })).not.toBe(key(base));
    expect(key({ ...base, trace: true })).toBe(key(base));
    expect(
      responseCacheKey(rt, recRequestOf(rt, 'forUser', base), { id: 'exp', variant: 'b' }, START),
    ).not.toBe(key(base));
  });

  it('changes when the visitor or the namespace has a newer change applied', () => {
    const before = key(base);
    const otherBefore = key({ ...base, anonymousId: 'v2' });
    rt.versions.userChanged('anon:v1', 10, START);
    const afterEvent = key(base);
    expect(afterEvent).not.toBe(before);
    expect(key({ ...base, anonymousId: 'v2' })).toBe(otherBefore);
    rt.versions.namespaceChanged(11, START);
    expect(key(base)).not.toBe(afterEvent);
  });
});
