import { describe, expect, it } from 'vitest';
import type { PartialEngineConfig } from '../config/engineConfig';
import { createEngine } from '../createEngine';
import { ev, item, MIN, T0 } from '../testShop';
import type { EngineEvent } from '../types';

const ids = (r: { items: Array<{ itemId: string }> }) => r.items.map((i) => i.itemId);

/** `n` visitors who each view `path` in order, one minute apart, in one session. */
function paths(path: string[], n: number, prefix: string): EngineEvent[] {
  const out: EngineEvent[] = [];
  for (let u = 0; u < n; u++) {
    path.forEach((id, i) => {
      out.push(ev('view', id, `${prefix}${u}`, i));
    });
  }
  return out;
}

function shop(config: PartialEngineConfig = {}) {
  const engine = createEngine({ now: () => T0 + 60 * MIN, config });
  engine.upsertItems(['a', 'b', 'c', 'd', 'e'].map((id) => item(id)));
  engine.addEvents([
    ...paths(['a', 'b'], 100, 'ab'), // b follows a; nobody comes back to a
    ...paths(['b', 'c'], 4, 'bc'), // c follows b
    ...paths(['d', 'e', 'd'], 100, 'ded'), // shoppers come back to d, never to e
  ]);
  return engine;
}

const sessionOnly = { fallback: false, blend: { covisit: 0, boughtTogether: 0, popular: 0, trending: 0 } };

describe('recommend: continuing a session', () => {
  it('proposes what shoppers view after the latest item, in that direction only', () => {
    const engine = shop();
    const afterA = engine.recommend({
      surface: 'forUser',
      k: 1,
      contextItemIds: ['a'],
      overrides: sessionOnly,
    });
    expect(ids(afterA)).toEqual(['b']);
    const afterB = engine.recommend({
      surface: 'forUser',
      k: 2,
      contextItemIds: ['b'],
      overrides: { ...sessionOnly, blend: { ...sessionOnly.blend, sessionKnn: 0 } },
      explain: true,
    });
    // c follows b; a only ever precedes it.
    expect(ids(afterB)).toEqual(['c']);
    expect(afterB.items[0]!.reasons?.[0]).toMatchObject({
      signal: 'transition',
      text: 'often viewed after B',
      relatedItemId: 'b',
    });
  });

  it('shows an item of the session again where shoppers return to it, but never the product page’s own item', () => {
    const engine = shop();
    const req = { k: 2, contextItemIds: ['d', 'e'], overrides: sessionOnly };
    expect(ids(engine.recommend({ ...req, surface: 'forUser' }))[0]).toBe('d');
    const page = engine.recommend({ ...req, surface: 'similar', itemId: 'd' });
    expect(ids(page)).not.toContain('d');
    expect(ids(page)).toContain('e');
  });

  it('keeps session items out where the surface is configured not to show them again, and the cart’s items out of cart', () => {
    const engine = shop({ session: { reshowSessionItems: { forUser: false } } });
    const res = engine.recommend({
      surface: 'forUser',
      k: 3,
      contextItemIds: ['d', 'e'],
      overrides: sessionOnly,
    });
    expect(ids(res)).not.toContain('d');
    expect(ids(res)).not.toContain('e');
    const cart = shop().recommend({
      surface: 'cart',
      k: 3,
      cartItemIds: ['d'],
      contextItemIds: ['d', 'e'],
      overrides: sessionOnly,
    });
    expect(ids(cart)).not.toContain('d');
  });

  it('reads the live session of a sessionId from its events and leaves it out of its own neighbours', () => {
    const engine = shop();
    engine.addEvents([ev('view', 'a', 'me', 50, { sessionId: 'now' })]);
    const res = engine.recommend({
      surface: 'forUser',
      k: 1,
      userKey: 'me',
      sessionId: 'now',
      overrides: sessionOnly,
    });
    expect(ids(res)).toEqual(['b']);
    // A session whose only neighbour would be itself proposes nothing from session kNN.
    engine.addEvents([ev('view', 'e', 'solo', 55, { sessionId: 'lonely' })]);
    const lonely = engine.recommend({
      surface: 'forUser',
      k: 3,
      sessionId: 'lonely',
      overrides: { ...sessionOnly, blend: { ...sessionOnly.blend, transition: 0 } },
    });
    expect(ids(lonely)).toEqual(expect.arrayContaining(['d', 'e']));
    const fresh = createEngine({ now: () => T0 + 60 * MIN });
    fresh.upsertItems([item('a'), item('b')]);
    fresh.addEvents([
      ev('view', 'a', 'x', 0, { sessionId: 'x1' }),
      ev('view', 'b', 'x', 1, { sessionId: 'x1' }),
    ]);
    const knnOnly = { ...sessionOnly, blend: { ...sessionOnly.blend, transition: 0 } };
    expect(ids(fresh.recommend({ surface: 'forUser', k: 2, sessionId: 'x1', overrides: knnOnly }))).toEqual(
      [],
    );
  });

  it('gives the same session lists whether events arrive one by one or in one batch, and after a rebuild', () => {
    const events = [
      ...paths(['a', 'b', 'c'], 7, 'abc'),
      ...paths(['b', 'd', 'b'], 5, 'bdb'),
      ...paths(['e', 'a'], 3, 'ea'),
    ].sort((x, y) => x.ts - y.ts);
    const build = (batches: EngineEvent[][]) => {
      const engine = createEngine({ now: () => T0 + 60 * MIN });
      engine.upsertItems(['a', 'b', 'c', 'd', 'e'].map((id) => item(id)));
      for (const batch of batches) engine.addEvents(batch);
      return engine;
    };
    const req = { surface: 'forUser' as const, k: 5, contextItemIds: ['e', 'b'], overrides: sessionOnly };
    const whole = build([events]).recommend(req);
    expect(whole.items.length).toBeGreaterThan(1);
    expect(build(events.map((e) => [e])).recommend(req)).toEqual(whole);
    const rebuilt = build([events]);
    rebuilt.setConfig({ session: { transitionSteps: 4 } });
    rebuilt.setConfig({});
    expect(rebuilt.recommend(req)).toEqual(whole);
  });

  it('forgets a forgotten visitor’s sessions: they no longer vote for anyone', () => {
    const engine = createEngine({ now: () => T0 + 60 * MIN });
    engine.upsertItems([item('a'), item('b')]);
    engine.addEvents([ev('view', 'a', 'gone', 0), ev('view', 'b', 'gone', 1)]);
    const req = { surface: 'forUser' as const, k: 2, contextItemIds: ['a'], overrides: sessionOnly };
    expect(ids(engine.recommend(req))).toContain('b');
    engine.forgetUser('gone');
    expect(
      ids(
        engine.recommend({
          ...req,
          overrides: { ...sessionOnly, blend: { ...sessionOnly.blend, transition: 0 } },
        }),
      ),
    ).toEqual([]);
  });
});
