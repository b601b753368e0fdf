import { createTRPCClient, httpLink, type TRPCLink } from '@trpc/client';
import type { AppRouter, ItemView } from '../../index';

/** Options for {@link createApiClient}. */
export interface ApiClientOptions {
  /**
   * Links to run before the HTTP link (e.g. to observe or alter requests).
   * @default []
   * @example { links: [loggerLink()] }
   */
  links?: TRPCLink<AppRouter>[];
}

/** A typed tRPC client for the Recsys API with a secret key. */
export function createApiClient(url: string, secretKey: string, options: ApiClientOptions = {}) {
  return createTRPCClient<AppRouter>({
    links: [
      ...(options.links ?? []),
      httpLink({
        url: `${url.replace(/\/$/, '')}/trpc`,
        headers: () => ({ authorization: `Bearer ${secretKey}` }),
      }),
    ],
  });
}

export type ApiClient = ReturnType<typeof createApiClient>;

/** What scenarios know about the namespace, read through the API before they run. */
export interface ScenarioContext {
  api: ApiClient;
  namespaceId: string;
  /** Every item (archived included), by id. */
  catalog: Map<string, ItemView>;
  /** Users with the most events among the latest ones (newest first). */
  warmUsers: string[];
  /** Items with the most events among the latest ones. */
  hotItems: string[];
  /** List length requested by scenarios. */
  k: number;
  /** Wall-clock time the context was read. */
  now: Date;
  /**
   * Longest time a scenario waits for asynchronous work on the server (embeddings).
   * @default 30000
   */
  waitMs: number;
}

/** What one scenario run measured. */
export interface ScenarioOutcome {
  /** The measured value compared with the threshold. */
  value: number;
  /** Human-readable evidence (what was requested, what came back). */
  detail: string;
  /** Conditions that fail the scenario whatever the value (e.g. relevance collapsed). */
  violations?: string[];
  /** Set when the data cannot exercise the behaviour (e.g. no recent purchases); not a failure. */
  skipped?: string;
}

/**
 * A named, versioned behavioural check. Bump `version` whenever what it
 * measures changes, so results across runs compare like with like.
 */
export interface Scenario {
  id: string;
  version: number;
  description: string;
  /** Pass when `value >= threshold` (`min`) or `value <= threshold` (`max`). */
  threshold: number;
  direction: 'min' | 'max';
  /** Whether it writes to the namespace (it cleans up after itself). */
  writes?: boolean;
  run(ctx: ScenarioContext, threshold: number): Promise<ScenarioOutcome>;
}

export type ScenarioStatus = 'pass' | 'fail' | 'skip';

export interface ScenarioResult {
  id: string;
  version: number;
  description: string;
  status: ScenarioStatus;
  threshold: number;
  direction: 'min' | 'max';
  value: number | null;
  detail: string;
  ms: number;
}
