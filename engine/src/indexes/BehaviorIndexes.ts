import type { EngineConfig } from '../config/engineConfig';
import type { Catalog } from './Catalog';
import { CovisitIndex } from './CovisitIndex';
import type { IngestEvent } from './EventLog';
import { PopularityIndex } from './PopularityIndex';
import { SessionKnnIndex } from './SessionKnnIndex';
import { TraitPopularity } from './TraitPopularity';
import { TransitionIndex } from './TransitionIndex';
import { TrendingSupport } from './TrendingSupport';
import { type ProfileLimits, UserProfile } from './UserProfile';

const NO_TAGS: readonly number[] = [];

/** The key the session indexes group events by: the session id, else the user. */
export function sessionKeyOf(sessionId: string | undefined, userKey: string): string {
  return sessionId !== undefined ? `s:${sessionId}` : `u:${userKey}`;
}

/**
 * Every behaviour-derived index, built from one config. Replaced wholesale (and replayed from the
 * event log) when an index-shaping setting changes.
 */
export class BehaviorIndexes {
  readonly covisit: CovisitIndex;
  readonly bought: CovisitIndex;
  readonly popularity: PopularityIndex;
  readonly traitPopularity: TraitPopularity;
  private readonly trendingSupport: TrendingSupport;
  /** Directed transitions within sessions (`transition`). */
  readonly transitions: TransitionIndex;
  /** Recent sessions per item (`sessionKnn`). */
  readonly sessions: SessionKnnIndex;
  readonly profiles = new Map<string, UserProfile>();
  readonly limits: ProfileLimits;

  constructor(
    private readonly config: EngineConfig,
    private readonly catalog: Catalog,
    /** The engine's user traits, held by reference (not a lookup closure) so a snapshot keeps it shared. */
    private readonly traits: ReadonlyMap<string, Record<string, string>>,
  ) {
    const { covisit } = config;
    // Tables live in power-of-two blocks kept at most 3/4 full; let a table fill its block before
    // pruning back to 2×topK, so pruning is rare and no block grows past what ~3×topK needs.
    let block = 4;
    while (block * 0.75 < covisit.topK * 3) block *= 2;
    const stored = { maxStored: (block * 3) / 4 - 1, keepAfterPrune: covisit.topK * 2 };
    this.covisit = new CovisitIndex({
      halfLifeMs: covisit.halfLifeMs,
      windowMs: covisit.windowMs,
      maxContextItems: covisit.maxContextItems,
      smoothing: covisit.smoothing,
      ...stored,
    });
    this.bought = new CovisitIndex({
      halfLifeMs: covisit.halfLifeMs,
      windowMs: covisit.windowMs,
      maxContextItems: covisit.maxBasket,
      smoothing: covisit.smoothing,
      ...stored,
    });
    const { session } = config;
    this.transitions = new TransitionIndex({
      halfLifeMs: session.transitionHalfLifeMs,
      steps: session.transitionSteps,
      maxGapMs: session.transitionMaxGapMs,
      smoothing: session.transitionSmoothing,
      ...stored,
    });
    this.sessions = new SessionKnnIndex(session);
    this.popularity = new PopularityIndex(config.popularity);
    this.trendingSupport = new TrendingSupport(config.popularity.trendingShortMs);
    this.traitPopularity = new TraitPopularity(config.popularity.halfLifeMs);
    this.limits = config.profile;
  }

  ingest(e: IngestEvent): void {
    const weight = this.config.eventWeights[e.type];
    const purchased = e.type === 'purchase';
    const quantity = purchased ? (e.value !== undefined && e.value > 0 ? e.value : 1) : 0;
    const trend = this.trendingSupport.claim(e.userKey, e.item, weight, e.ts);
    this.popularity.add(e.item, weight, quantity, e.ts, this.catalog.info(e.item)?.categories, trend);
    const traits = this.traits.get(e.userKey);
    if (traits !== undefined) this.traitPopularity.add(traits, e.item, weight, e.ts);

    const covisitKey =
      this.config.covisit.sessionOnly && e.sessionId !== undefined ? `s:${e.sessionId}` : `u:${e.userKey}`;
    this.covisit.add(covisitKey, e.userKey, e.item, weight, e.ts);
    const sessionKey = sessionKeyOf(e.sessionId, e.userKey);
    this.transitions.add(sessionKey, e.userKey, e.item, weight, e.ts);
    if (weight > 0) this.sessions.add(sessionKey, e.userKey, e.item, e.ts);
    if (e.type === 'add' || purchased) {
      // An order groups its lines; without one, the cart session (or user) is the basket.
      const basket =
        e.orderId !== undefined
          ? `o:${e.orderId}`
          : e.sessionId !== undefined
            ? `s:${e.sessionId}`
            : `u:${e.userKey}`;
      this.bought.add(basket, e.userKey, e.item, weight, e.ts);
    }

    let profile = this.profiles.get(e.userKey);
    if (profile === undefined) {
      profile = new UserProfile(this.config.profile.halfLifeMs);
      this.profiles.set(e.userKey, profile);
    }
    const viewed = e.type === 'view' || e.type === 'click';
    profile.record(
      e.item,
      weight,
      e.ts,
      e.sessionId,
      this.catalog.info(e.item)?.interestTags ?? NO_TAGS,
      { viewed, purchased },
      this.limits,
    );
  }

  /**
   * Gives back the room to grow that a bulk load left in every index (arrays and pools sized for
   * the next pushes). Answers stay the same; later events grow what they touch again.
   */
  trim(): void {
    this.covisit.trim();
    this.bought.trim();
    this.transitions.trim();
    this.sessions.trim();
    this.trendingSupport.trim();
    for (const profile of this.profiles.values()) profile.trim();
  }

  mergeUsers(fromKey: string, intoKey: string): void {
    const from = this.profiles.get(fromKey);
    if (from !== undefined) {
      let into = this.profiles.get(intoKey);
      if (into === undefined) {
        into = new UserProfile(this.config.profile.halfLifeMs);
        this.profiles.set(intoKey, into);
      }
      into.absorb(from, this.limits);
      this.profiles.delete(fromKey);
    }
    this.trendingSupport.merge(fromKey, intoKey);
    this.covisit.reassignOwner(fromKey, intoKey, `u:${fromKey}`, `u:${intoKey}`);
    this.bought.reassignOwner(fromKey, intoKey, `u:${fromKey}`, `u:${intoKey}`);
    this.transitions.reassignOwner(fromKey, intoKey, `u:${fromKey}`, `u:${intoKey}`);
    this.sessions.reassignOwner(fromKey, intoKey);
  }

  forgetUser(userKey: string): void {
    this.profiles.delete(userKey);
    this.trendingSupport.drop(userKey);
    this.covisit.dropOwner(userKey);
    this.bought.dropOwner(userKey);
    this.transitions.dropOwner(userKey);
    this.sessions.dropOwner(userKey);
  }
}
