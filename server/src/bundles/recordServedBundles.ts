import { BUNDLE_SURFACE } from '@recsys/engine/protocol';
import type { Database } from '../db/client';
import { recLogs } from '../db/schema';

/** A bundle served in the past, as `recsys bundles seed-qa` records it. */
export interface ServedBundleRecord {
  requestId: string;
  anonymousId: string | null;
  userId: string | null;
  items: Array<{ itemId: string; rank: number; score: number }>;
  /** When it was served (the day acceptance counts it under). */
  servedAt: Date;
}

/**
 * Stores served bundles in the served-list log with the time they were served, for demo and QA data
 * (live bundles are logged by `recs.bundle` through the log writer, at the time they are served).
 * A requestId already stored is left as it is, so seeding twice changes nothing.
 * @returns how many were new.
 */
export async function recordServedBundles(
  database: Database,
  namespaceId: string,
  bundles: ServedBundleRecord[],
): Promise<number> {
  if (bundles.length === 0) return 0;
  const inserted = await database.db
    .insert(recLogs)
    .values(
      bundles.map((b) => ({
        namespaceId,
        requestId: b.requestId,
        surface: BUNDLE_SURFACE,
        userId: b.userId,
        anonymousId: b.anonymousId,
        items: b.items,
        fallback: false,
        createdAt: b.servedAt,
      })),
    )
    .onConflictDoNothing()
    .returning({ requestId: recLogs.requestId });
  return inserted.length;
}
