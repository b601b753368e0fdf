import type { KeyResolver } from '../auth/keyResolver';
import type { Database } from '../db/client';
import type { ExperimentAssigner } from '../experiments/assign';
import type { EventsBatchResult } from '../ingest/contracts';
import type { JobsService } from '../jobs/service';
import type { Logger } from '../obs/logger';
import type { Metrics } from '../obs/metrics';
import type { Placement } from '../replicate/placement';
import type { EngineService } from '../serve/EngineService';
import type { RecLogWriter } from '../serve/RecLogWriter';

/** What procedures and HTTP routes share within one server process. */
export interface AppServices {
  database: Database;
  keys: KeyResolver;
  log: Logger;
  metrics: Metrics;
  /** Called after every ingestion batch (metrics; nudges the engine host to poll). */
  onEventsIngested(namespaceId: string, result: EventsBatchResult): void;
  /** Whether the engine indexes are loaded (for `/readyz`). */
  engineReady(): boolean;
  /** The engines; absent on a server started without recommendations. */
  engines: EngineService | undefined;
  /** The namespaces whose engines this replica holds (`recsys serve --namespaces`/`--shard`). */
  placement: Placement;
  /** Served-list log for attribution and evaluation. */
  recLog: RecLogWriter | undefined;
  /** Assigns recommendation requests to running experiments; absent without engines. */
  experiments: ExperimentAssigner | undefined;
  /** The scheduled jobs: list, run now, history (`admin.jobs.*`). */
  jobs: JobsService;
}
