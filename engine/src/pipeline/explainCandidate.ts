import type { Reason } from '../api';
import type { SignalName, Surface } from '../config/engineConfig';
import { SIGNALS } from '../config/engineConfig';
import type { Catalog } from '../indexes/Catalog';
import { cosine } from '../vectors/similarity';
import type { VectorSource } from '../vectors/types';
import { type Candidate, contributionOf } from './blendSignals';
import type { Anchor } from './profileAnchors';
import type { SignalScores } from './signalScores';

/** What explanation texts need beyond the candidate. */
export interface ReasonContext {
  surface: Surface;
  catalog: Catalog;
  signals: Map<SignalName, SignalScores>;
  anchors: Anchor[];
  vectors: VectorSource | undefined;
  /** Category the popular/trending lists were restricted to, if any. */
  categoryLabel: string | undefined;
  /** The user's strongest tags, strongest first (for affinity texts). */
  interestTags: number[];
}

/** Label of the item's primary category, if it has one. */
function categoryOf(ctx: ReasonContext, id: number): string | undefined {
  const tag = ctx.catalog.info(id)?.category ?? -1;
  return tag >= 0 ? ctx.catalog.tagLabel(tag) : undefined;
}

/** The user's strongest interest (category or brand) that the item matches. */
function interestOf(ctx: ReasonContext, id: number): string | undefined {
  const own = [ctx.catalog.categoryOf(id), ctx.catalog.brandOf(id)];
  const tag = ctx.interestTags.find((t) => own.includes(t));
  return tag === undefined ? undefined : ctx.catalog.tagLabel(tag);
}

/** For user-level embedding hits: the anchor whose vector is closest to the candidate. */
function closestAnchor(ctx: ReasonContext, id: number): number | undefined {
  const { vectors, catalog } = ctx;
  if (vectors === undefined) return undefined;
  const v = vectors.get(catalog.ids.keyOf(id));
  if (v === undefined) return undefined;
  let best: number | undefined;
  let bestSim = 0;
  for (const a of ctx.anchors) {
    const av = vectors.get(catalog.ids.keyOf(a.item));
    if (av === undefined) continue;
    const sim = cosine(v, av);
    if (sim > bestSim) {
      bestSim = sim;
      best = a.item;
    }
  }
  return best;
}

function text(ctx: ReasonContext, signal: SignalName, id: number): { text: string; related?: number } {
  const s = ctx.signals.get(signal);
  const label = s?.labelOf(id);
  const title = (r: number) => ctx.catalog.titleOf(r);
  switch (signal) {
    case 'covisit': {
      const r = s?.relatedOf(id);
      return r === undefined
        ? { text: 'often viewed together' }
        : { text: `often viewed with ${title(r)}`, related: r };
    }
    case 'boughtTogether': {
      const r = s?.relatedOf(id);
      return r === undefined
        ? { text: 'often bought together' }
        : { text: `often bought with ${title(r)}`, related: r };
    }
    case 'embedding': {
      const r = s?.relatedOf(id) ?? closestAnchor(ctx, id);
      if (r === undefined) return { text: 'similar to items you viewed' };
      const suffix =
        ctx.surface === 'similar' ? '' : ctx.surface === 'cart' ? ' in your cart' : ' you viewed';
      return { text: `similar to ${title(r)}${suffix}`, related: r };
    }
    case 'popular':
      return {
        text: ctx.categoryLabel !== undefined ? `popular in ${ctx.categoryLabel}` : 'popular right now',
      };
    case 'trending': {
      const where = ctx.categoryLabel ?? categoryOf(ctx, id);
      return { text: where !== undefined ? `trending in ${where}` : 'trending right now' };
    }
    case 'segment':
      return {
        text: label !== undefined ? `popular with shoppers in ${label}` : 'popular with shoppers like you',
      };
    case 'affinity': {
      const interest = interestOf(ctx, id);
      return {
        text: interest !== undefined ? `matches your interest in ${interest}` : 'matches your interests',
      };
    }
    case 'buyAgain': {
      const times = Number(label ?? '1');
      return { text: times > 1 ? `you bought this ${times} times before` : 'you bought this before' };
    }
    case 'recent':
      return { text: 'you viewed this recently' };
    case 'revisit': {
      const visits = Number(label ?? '1');
      return { text: visits > 1 ? `you came back to this ${visits} times` : 'you looked at this before' };
    }
    case 'transition': {
      const r = s?.relatedOf(id);
      return r === undefined
        ? { text: 'often viewed next' }
        : { text: `often viewed after ${title(r)}`, related: r };
    }
    case 'sessionKnn':
      return { text: 'shoppers with sessions like yours went on to this' };
    case 'bestseller':
      return { text: label !== undefined ? `best-seller in ${label}` : 'best-seller' };
  }
}

/** One reason per contributing signal, largest contribution first. */
export function explainCandidate(ctx: ReasonContext, c: Candidate): Reason[] {
  const out: Reason[] = [];
  for (let index = 0; index < SIGNALS.length; index++) {
    const signal = SIGNALS[index]!;
    const contribution = contributionOf(c, index);
    if (!(contribution > 0)) continue;
    const t = text(ctx, signal, c.id);
    const reason: Reason = { signal, contribution, text: t.text };
    if (t.related !== undefined) reason.relatedItemId = ctx.catalog.ids.keyOf(t.related);
    out.push(reason);
  }
  return out.sort((a, b) => b.contribution - a.contribution);
}
