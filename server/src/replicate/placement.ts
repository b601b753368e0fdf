import { fmix32, fnv1a32 } from '@recsys/engine/random';
import { NAMESPACE_ID_RE } from '../auth/keys';
import { UserError } from '../errors';

/**
 * Which namespaces a replica's engines hold. A shop too large for one replica's memory gets a pool
 * of replicas of its own (`list`), and many small shops are spread over a pool by a hash of their
 * id (`shard`). Ingestion and admin calls work for every namespace on every replica (they only
 * write to the database); recommendations for a namespace placed elsewhere answer 503 with the
 * reason, which a load balancer that retries on 503 turns into a try of the next replica.
 */
export type Placement =
  | { readonly kind: 'all' }
  | { readonly kind: 'list'; readonly namespaces: ReadonlySet<string> }
  | { readonly kind: 'shard'; readonly index: number; readonly count: number };

export const EVERY_NAMESPACE: Placement = { kind: 'all' };

/** A placement given on the command line or in the environment that cannot be used. */
export class PlacementError extends UserError {
  constructor(message: string) {
    super('BAD_REQUEST', message);
    this.name = 'PlacementError';
  }
}

/**
 * Reads `--namespaces shop-a,shop-b` or `--shard 2/4` (the third of four shards; counted from 1 so
 * that `1/1` is everything). Both at once is refused: a replica's share must be readable at a glance.
 * @example parsePlacement({ shard: '1/3' }) // { kind: 'shard', index: 0, count: 3 }
 */
export function parsePlacement(given: {
  namespaces?: string | undefined;
  shard?: string | undefined;
}): Placement {
  const namespaces = given.namespaces?.trim() || undefined;
  const shard = given.shard?.trim() || undefined;
  if (namespaces && shard) {
    throw new PlacementError(
      'give --namespaces or --shard, not both (a pool for named namespaces, or a hash share of all)',
    );
  }
  if (namespaces) {
    const ids = namespaces.split(',').map((s) => s.trim());
    const bad = ids.find((id) => !NAMESPACE_ID_RE.test(id));
    if (bad !== undefined) {
      throw new PlacementError(
        `--namespaces: "${bad}" is not a namespace id; give ids separated by commas, e.g. --namespaces shop-a,shop-b`,
      );
    }
    return { kind: 'list', namespaces: new Set(ids) };
  }
  if (shard) {
    const match = /^(\d{1,4})\/(\d{1,4})$/.exec(shard);
    const index = Number(match?.[1]);
    const count = Number(match?.[2]);
    if (!match || count < 1 || index < 1 || index > count) {
      throw new PlacementError(
        `--shard: "${shard}" is not <this shard>/<shards>, counted from 1, e.g. --shard 2/4 (the second of four)`,
      );
    }
    return { kind: 'shard', index: index - 1, count };
  }
  return EVERY_NAMESPACE;
}

/** The shard (counted from 0) a namespace belongs to among `count`: stable across processes and versions. */
export function shardOf(namespaceId: string, count: number): number {
  return fmix32(fnv1a32(namespaceId)) % count;
}

/** Whether `placement` puts `namespaceId`'s engine on this replica. */
export function placesNamespace(placement: Placement, namespaceId: string): boolean {
  switch (placement.kind) {
    case 'all':
      return true;
    case 'list':
      return placement.namespaces.has(namespaceId);
    case 'shard':
      return shardOf(namespaceId, placement.count) === placement.index;
  }
}

/** The placement in words, for logs and the 503 a misdirected request gets. */
export function describePlacement(placement: Placement): string {
  switch (placement.kind) {
    case 'all':
      return 'every namespace';
    case 'list':
      return `namespaces ${[...placement.namespaces].join(', ')}`;
    case 'shard':
      return `shard ${placement.index + 1} of ${placement.count} (namespaces whose id hashes to it)`;
  }
}

/** A recommendation asked of a replica that does not hold the namespace's engine. */
export class NamespaceNotPlacedError extends Error {
  constructor(namespaceId: string, placement: Placement) {
    super(notPlacedMessage(namespaceId, placement));
    this.name = 'NamespaceNotPlacedError';
  }
}

/** What a request for a namespace placed elsewhere is told. */
export function notPlacedMessage(namespaceId: string, placement: Placement): string {
  return `Namespace "${namespaceId}" is served by other replicas: this one holds ${describePlacement(placement)}. Route the namespace's requests to its pool (see "Running at scale" in the README).`;
}
