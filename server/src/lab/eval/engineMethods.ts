import {
  createEngine,
  createTextEncoder,
  type Engine,
  IvfIndex,
  itemText,
  type PartialEngineConfig,
  type RequestOverrides,
  SIGNALS,
  type SignalWeights,
  type Surface,
} from '@recsys/engine';
import type { EvalMethod } from './baselines';
import type { EvalDataset } from './dataset';
import { fixtureEventToEngine, fixtureItemToEngine } from './fixtureEvents';
import type { TrainIndex } from './trainIndex';

/**
 * Builds an engine that has seen the training half only: the catalog as of the cut, every user's
 * traits, and every train event. Nothing is added afterwards, so no test event can reach it.
 */
export function buildTrainEngine(
  dataset: EvalDataset,
  train: TrainIndex,
  config: PartialEngineConfig | undefined,
): Engine {
  const cut = train.cut;
  const engine = createEngine({ config: config ?? {}, now: () => cut });
  engine.upsertItems(
    dataset.items.filter((i) => train.catalogSet.has(i.itemId)).map((i) => fixtureItemToEngine(i, 0)),
  );
  // Traits first: per-trait popularity counts an event only when the user's traits are known.
  for (const u of dataset.users) {
    const traits: Record<string, string> = {};
    for (const [k, v] of Object.entries(u.traits)) if (v !== undefined) traits[k] = String(v);
    if (Object.keys(traits).length > 0) engine.setUserTraits(u.userId, traits);
  }
  const batch = [];
  for (const e of dataset.train) {
    const row = fixtureEventToEngine(e);
    if (row !== undefined) batch.push(row);
    if (batch.length >= 10_000) engine.addEvents(batch.splice(0));
  }
  engine.addEvents(batch);
  return engine;
}

/** Embeds the catalog with the built-in text encoder into an exact-or-IVF index. */
export async function buildItemVectors(dataset: EvalDataset, train: TrainIndex): Promise<IvfIndex> {
  const encoder = await createTextEncoder({ kind: 'builtin' });
  try {
    const items = dataset.items.filter((i) => train.catalogSet.has(i.itemId));
    const index = new IvfIndex({ dim: encoder.dim, autoTrain: false });
    for (let i = 0; i < items.length; i += 512) {
      const slice = items.slice(i, i + 512);
      const vectors = await encoder.encode(slice.map((it) => itemText(fixtureItemToEngine(it))));
      vectors.forEach((v, j) => {
        index.add(slice[j]!.itemId, v);
      });
    }
    if (index.needsTraining()) await index.train();
    return index;
  } finally {
    await encoder.dispose();
  }
}

const OFF: SignalWeights = Object.fromEntries(SIGNALS.map((s) => [s, 0]));

/** Request overrides of the engine ablations: one family of signals, no popularity fill. */
export const ABLATIONS: Record<string, { description: string; overrides: RequestOverrides }> = {
  engine: { description: 'the engine with the evaluated config (blend as configured)', overrides: {} },
  'engine-covisit': {
    description: 'engine, co-visitation and bought-together only (no fallback fill)',
    overrides: { blend: { ...OFF, covisit: 1, boughtTogether: 1 }, fallback: false },
  },
  'engine-embedding': {
    description: 'engine, text embeddings only (no fallback fill)',
    overrides: { blend: { ...OFF, embedding: 1 }, fallback: false },
  },
  'engine-session': {
    description: 'engine, session signals only: transitions and session kNN (no fallback fill)',
    overrides: { blend: { ...OFF, transition: 1, sessionKnn: 1 }, fallback: false },
  },
  'engine-buyagain': {
    description: 'engine, buy-again signal only (no fallback fill; not shown under discovery)',
    overrides: { blend: { ...OFF, buyAgain: 1 }, fallback: false },
  },
  'engine-revisit': {
    description:
      'engine, revisit signal only: items the user came back to (no fallback fill; not shown under discovery)',
    overrides: { blend: { ...OFF, revisit: 1 }, fallback: false },
  },
};

/**
 * An engine recommender. User-level: `surface` for the user (default forUser); discovery relevance
 * turns on `excludePurchased` over the whole train period and excludes every item the user had.
 * Next-item (read-only requests, so a test session never changes what another session sees):
 * `engine` and `engine-session` continue the session — `forUser` with the prefix as
 * `contextItemIds`, as a "continue browsing" shelf asks; `engine-similar` is the last item's product
 * page with the prefix as context (the page's own item is never shown); `engine-cart` the `cart`
 * surface with the whole prefix; the other ablations `similar` to the last item.
 */
export function engineMethod(
  name: string,
  engine: Engine,
  train: TrainIndex,
  surface: Surface,
  firstTrainTs: number,
): EvalMethod {
  const ablation = name === 'engine-cart' || name === 'engine-similar' ? ABLATIONS.engine! : ABLATIONS[name];
  if (ablation === undefined) throw new Error(`Unknown engine method '${name}'.`);
  const cut = train.cut;
  const wholeTrain = Math.max(1, cut - firstTrainTs + 1);
  const ids = (r: { items: Array<{ itemId: string }> }) => r.items.map((i) => i.itemId);
  return {
    name,
    description:
      name === 'engine-cart'
        ? 'engine cart surface with the whole session prefix'
        : name === 'engine-similar'
          ? "engine similar surface on the last item's page, the prefix as session context"
          : name === 'engine'
            ? `${ablation.description}; next-item: forUser continuing the session (prefix as context)`
            : ablation.description,
    discovery: name !== 'engine-buyagain' && name !== 'engine-revisit',
    user: (q) =>
      ids(
        engine.recommend({
          surface,
          k: q.k,
          userKey: q.userId,
          now: cut,
          overrides: q.discovery
            ? { ...ablation.overrides, excludePurchased: true, purchaseExclusionWindowMs: wholeTrain }
            : ablation.overrides,
          ...(q.exclude.size > 0 ? { filters: { excludeIds: [...q.exclude] } } : {}),
        }),
      ),
    session: (q) => {
      const last = q.prefix[q.prefix.length - 1];
      if (last === undefined) return [];
      const context = [...q.prefix];
      switch (name) {
        case 'engine':
        case 'engine-session':
          return ids(
            engine.recommend({
              surface: 'forUser',
              k: q.k,
              contextItemIds: context,
              now: cut,
              overrides: ablation.overrides,
            }),
          );
        case 'engine-cart':
          return ids(engine.recommend({ surface: 'cart', k: q.k, cartItemIds: context, now: cut }));
        case 'engine-similar':
          return ids(
            engine.recommend({ surface: 'similar', k: q.k, itemId: last, contextItemIds: context, now: cut }),
          );
        default:
          return ids(
            engine.recommend({
              surface: 'similar',
              k: q.k,
              itemId: last,
              now: cut,
              overrides: ablation.overrides,
            }),
          );
      }
    },
  };
}
