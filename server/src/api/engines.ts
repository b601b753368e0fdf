import { TRPCError } from '@trpc/server';
import { notPlacedMessage, placesNamespace } from '../replicate/placement';
import type { EngineService } from '../serve/EngineService';
import type { Context } from './init';

/**
 * Refuses, with 503 and the reason, a call that needs the engine of a namespace this replica does
 * not hold (`recsys serve --namespaces`/`--shard`). 503 rather than 4xx: the request is right, the
 * replica is not, and a load balancer retrying on 503 reaches one that is.
 */
export function assertPlacedHere(ctx: Context, namespaceId: string): void {
  const placement = ctx.services.placement;
  if (placesNamespace(placement, namespaceId)) return;
  throw new TRPCError({
    code: 'SERVICE_UNAVAILABLE',
    message: notPlacedMessage(namespaceId, placement),
  });
}

/** The engines holding `namespaceId`, or the 503 a server without them (or placed elsewhere) answers. */
export function enginesOf(ctx: Context, namespaceId: string): EngineService {
  const host = ctx.services.engines;
  if (!host) {
    throw new TRPCError({
      code: 'SERVICE_UNAVAILABLE',
      message: 'Recommendations are not enabled on this server.',
    });
  }
  assertPlacedHere(ctx, namespaceId);
  return host;
}
