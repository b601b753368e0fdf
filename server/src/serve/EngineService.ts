import type { RecommendedItem, RecsInput, RecsResponse, Surface } from '@recsys/engine/protocol';
import type { RulePreviewJob, RulePreviewLists } from './previewRules';

/** What `recs.*` asks of the engines: a validated request, with its defaults filled in. */
export type ServeInput = RecsInput & { k: number; explain: boolean };

/** One recommendation list, with what the served-list log needs. */
export interface EngineList {
  items: RecommendedItem[];
  fallback: RecsResponse['fallback'];
  /** The logged-in user the list was made for (an anonymous id resolved through its alias), if any. */
  userId: string | null;
  /** The namespace configuration version that ranked it. */
  configVersion: number | null;
}

/** How far loading the engine indexes has got, for `/readyz`. */
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
  /** Polls for changes now (this process just wrote some). */
  nudge(): void;
  /**
   * Polls now and resolves once what is committed is applied here (after a rule change, so the
   * answer's caller sees it in the next list); absent where the engines live on another thread.
   */
  settle?(): Promise<void>;
  /** Ranks one list; throws {@link EngineNotReadyError} before the indexes are loaded. */
  serve(namespaceId: string, surface: Surface, input: ServeInput): EngineList | Promise<EngineList>;
  /** A dry run of a rule change (see `previewRules`); throws {@link EngineNotReadyError} while loading. */
  previewRules(namespaceId: string, job: RulePreviewJob): RulePreviewLists | Promise<RulePreviewLists>;
}
