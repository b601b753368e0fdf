import type { BundleRequest, RecTrace } from '@recsys/engine';
import type {
  BundleInput,
  BundleResponse,
  GroupInput,
  GroupResponse,
  RecommendedItem,
  RecsInput,
  RecsResponse,
  RerankInput,
  RerankResponse,
  Surface,
} from '@recsys/engine/protocol';
import type { PauseReport } from '../obs/threadPauses';
import type { StampReading } from '../replicate/changeVersions';
import type { RulePreviewJob, RulePreviewLists } from './previewRules';

/**
 * What `recs.*` asks of the engines: a validated request, with its defaults filled in; `trace`:
 * return the decision trace too.
 */
export type ServeInput = RecsInput & {
  k: number;
  explain: boolean;
  trace?: boolean;
  /** The experiment and variant the list is served under (assigned before ranking). */
  experiment?: { id: string; variant: string } | undefined;
  /** The named rule set whose rules apply besides the base set's (a `rules:<set>` variant). */
  ruleSet?: string | undefined;
  /**
   * Rank now, without reading or writing the response cache: a debug request (the trace header).
   * `explain` requests bypass it too.
   */
  bypassCache?: boolean;
};

/** One recommendation list, with what the served-list log needs. */
export interface EngineList {
  items: RecommendedItem[];
  fallback: RecsResponse['fallback'];
  /** The logged-in user the list was made for (an anonymous id resolved through its alias), if any. */
  userId: string | null;
  /** The namespace configuration version that ranked it. */
  configVersion: number | null;
  /** The experiment and variant it was served under, echoed from the input. */
  experiment?: { id: string; variant: string } | undefined;
  /** The named rule set applied besides the base set, echoed from the input. */
  ruleSet?: string | undefined;
  /** The engine's decision trace, with the rules that matched, when `ServeInput.trace` was set. */
  trace?: RecTrace;
  /**
   * Whether it came from the response cache ('hit') or was ranked and stored ('miss'); absent when
   * the cache is off or was bypassed (explain, trace header).
   */
  cache?: 'hit' | 'miss';
  /**
   * Until when, and on which change counters, the list may be served again without asking the
   * engines (see `NearCache`); set by an engine host with a response cache, absent otherwise.
   */
  validity?: ListValidity;
}

/**
 * What a list from the response cache depends on: the shared change counters (see `ChangeStamps`)
 * as they read when it was ranked or found, and when it stops being served — the cache entry's
 * expiry, or earlier the next start or end of a scheduled rule.
 */
export interface ListValidity extends StampReading {
  until: number;
}

/** What another thread needs to keep an engine host's lists near it (see `NearCache`). */
export interface NearCacheSource {
  /** The host's change counters (`ChangeStamps.buffer`). */
  stamps: SharedArrayBuffer;
  /** Lists to keep (the response cache's `maxEntries`). */
  maxEntries: number;
}

/**
 * What `recs.bundle` asks of the engines: the validated input and, under a bundle experiment's
 * variant, the bundle it fixes (see `BundleRequest.fixed`).
 */
export type BundleServeInput = BundleInput & { fixed?: BundleRequest['fixed'] };

/** One served bundle: the response without its request id, and what the served-list log needs. */
export type EngineBundle = Omit<BundleResponse, 'requestId' | 'surface'> & {
  /** The logged-in user the bundle was made for (an anonymous id resolved through its alias), if any. */
  userId: string | null;
  configVersion: number | null;
};

/** A validated `recs.group` input, defaults filled in. */
export type GroupServeInput = Omit<GroupInput, 'rule' | 'strongFit' | 'k' | 'explain'> & {
  rule: 'min' | 'avg';
  strongFit?: { threshold: number; maxLocked: number } | undefined;
  k: number;
  explain: boolean;
};

/** One group list, with what the served-list log needs. */
export interface EngineGroup {
  items: GroupResponse['items'];
  /** How it was combined (answered with `explain`). */
  summary: NonNullable<GroupResponse['explain']>;
  /** Set when strong fits were asked for and none cleared the bar. */
  warning?: string;
  /** Each member's user (an anonymous id resolved through its alias), or null. */
  userIds: Array<string | null>;
  configVersion: number | null;
}

/** A validated `recs.rerank` input, defaults filled in. */
export type RerankServeInput = RerankInput & { explain: boolean };

/** One reranked list: the response without its request id, and what the served-list log needs. */
export type EngineRerank = Omit<RerankResponse, 'requestId' | 'surface'> & { configVersion: number | null };

/** How current the engine indexes are, for `/metrics`. */
export interface IndexFreshness {
  /** When the engines last finished applying the database's changes (ms since the epoch). */
  appliedAt: number;
  /**
   * How long the oldest event applied by that poll had waited since it was stored, in seconds; 0
   * when it applied none (nothing was waiting).
   */
  lagSeconds: number;
  /**
   * The same per namespace held here (`lagSeconds` of its own events; 0 when none of them was
   * waiting), so one busy shop's lag is not hidden by the others'.
   */
  namespaces?: Record<string, number>;
  /**
   * When the snapshot each namespace was last restored from or written to was taken (ms since the
   * epoch); namespaces without one are absent (see `EngineHostOptions.snapshotDir`).
   */
  snapshots?: Record<string, number>;
}

export interface LoadProgress {
  /** Namespaces whose indexes are built. */
  loaded: number;
  /** Namespaces to load; undefined until they are listed. */
  total: number | undefined;
}

/** Thrown while no list can be made yet (the indexes are still loading). */
export class EngineNotReadyError extends Error {
  constructor() {
    super('The engine is still loading; retry in a moment.');
    this.name = 'EngineNotReadyError';
  }
}

/**
 * The engines as the HTTP side sees them: an {@link EngineHost} in the same thread, or a
 * `RemoteEngine` talking to one on another thread (see `startHttpThread`).
 */
export interface EngineService {
  /** True once every namespace has been loaded. */
  readonly ready: boolean;
  /** How far loading has got; absent where it is not known. */
  readonly progress?: LoadProgress | undefined;
  /** How current the indexes are; absent where it is not known. */
  readonly freshness?: IndexFreshness | undefined;
  /**
   * With a response cache, what another thread needs to keep lists near it; absent otherwise.
   */
  readonly nearCache?: NearCacheSource | undefined;
  /**
   * Calls `listener` with the engine thread's garbage-collection pauses and event-loop delay, about
   * once a second; present only where the engines live on another thread (an engine host in the
   * HTTP thread's own thread is covered by Node's default metrics).
   */
  watchPauses?(listener: (report: PauseReport) => void): void;
  /** Polls for changes now (this process just wrote some). */
  nudge(): void;
  /**
   * Polls now and resolves once what is committed is applied here (after a rule change, so the
   * answer's caller sees it in the next list); absent where the engines live on another thread.
   */
  settle?(): Promise<void>;
  /** Ranks one list; throws {@link EngineNotReadyError} before the indexes are loaded. */
  serve(namespaceId: string, surface: Surface, input: ServeInput): EngineList | Promise<EngineList>;
  /** Suggests a product bundle; throws {@link EngineNotReadyError} before the indexes are loaded. */
  serveBundle(namespaceId: string, input: BundleServeInput): EngineBundle | Promise<EngineBundle>;
  /** Ranks a list for a group; throws {@link EngineNotReadyError} before the indexes are loaded. */
  serveGroup(namespaceId: string, input: GroupServeInput): EngineGroup | Promise<EngineGroup>;
  /** Reranks a caller's candidates; throws {@link EngineNotReadyError} before the indexes are loaded. */
  serveRerank(namespaceId: string, input: RerankServeInput): EngineRerank | Promise<EngineRerank>;
  /** A dry run of a rule change (see `previewRules`); throws {@link EngineNotReadyError} while loading. */
  previewRules(namespaceId: string, job: RulePreviewJob): RulePreviewLists | Promise<RulePreviewLists>;
}
