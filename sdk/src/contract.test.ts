// Type-level drift test: the SDK's wire types (from @recsys/protocol) against the server's zod
// contracts, read through the server's public types (`z.input`/`z.output` of its schemas). Nothing of the
// server runs: `tsc` (`pnpm typecheck`) fails when the two sides drift; vitest only runs the checks' shells.

import type {
  BundleInput,
  BundleResponse,
  GroupInput,
  GroupResponse,
  RerankInput,
  RerankResponse,
} from '@recsys/protocol';
import type { AppRouter, CollectBody, EventInput } from '@recsys/server';
import type { inferRouterInputs, inferRouterOutputs } from '@trpc/server';
import { describe, expectTypeOf, it } from 'vitest';
import type { AliasInput, RecsProcedure, RecsSpecialProcedure } from './recs';
import type { CollectPayload, EventMeta, EventType, RecsInput, RecsResponse, RecsysEvent } from './types';

type ServerInputs = inferRouterInputs<AppRouter>;
type ServerOutputs = inferRouterOutputs<AppRouter>;
type ServerRecsInput<P extends RecsProcedure> = ServerInputs['recs'][P];
type AnyServerRecsInput = { [P in RecsProcedure]: ServerRecsInput<P> }[RecsProcedure];
type KeysOf<T> = T extends unknown ? keyof T : never;
/** What `JSON.stringify` puts on the wire: a property whose value is `undefined` is left out. */
type Wire<T> = T extends object ? { [K in keyof T]: Wire<Exclude<T[K], undefined>> } : T;

/** The fields the SDK and one procedure share, each with the SDK's type (present, not undefined). */
type Shared<TSdk, TServer> = { [K in keyof TSdk & keyof TServer]-?: Exclude<TSdk[K], undefined> };
type ServerFields<TSdk, TServer> = { [K in keyof TSdk & keyof TServer]-?: Exclude<TServer[K], undefined> };
/** `true` when every RecsInput field procedure `P` also has is typed so that `P` accepts it, else `P`. */
type SharedFieldsFit<P extends RecsProcedure> =
  Shared<RecsInput, ServerRecsInput<P>> extends ServerFields<RecsInput, ServerRecsInput<P>> ? true : P;

describe('the SDK and the server speak the same wire format', () => {
  it('sends events the server accepts, and can hold every event the server accepts', () => {
    expectTypeOf<Wire<RecsysEvent>>().toExtend<EventInput>();
    expectTypeOf<EventInput>().toExtend<RecsysEvent>();
    expectTypeOf<EventType>().toEqualTypeOf<EventInput['type']>();
    expectTypeOf<Wire<EventMeta>>().toExtend<NonNullable<EventInput['meta']>>();
    expectTypeOf<keyof RecsysEvent>().toEqualTypeOf<keyof EventInput>();
  });

  it('posts a collect payload the server accepts', () => {
    expectTypeOf<Wire<CollectPayload>>().toExtend<CollectBody>();
    expectTypeOf<keyof CollectPayload>().toEqualTypeOf<keyof CollectBody>();
  });

  it('asks for recommendations with fields every procedure knows, typed as the server reads them', () => {
    // Every field a procedure accepts is a field of RecsInput, and no RecsInput field is unknown to all
    // of them (the server's inputs are strict: an unknown key is a 400).
    expectTypeOf<KeysOf<AnyServerRecsInput>>().toEqualTypeOf<keyof RecsInput>();
    expectTypeOf<{ [P in RecsProcedure]: SharedFieldsFit<P> }[RecsProcedure]>().toEqualTypeOf<true>();
    // and the other way: whatever a procedure accepts fits in RecsInput
    expectTypeOf<{ [P in RecsProcedure]: ServerRecsInput<P> }[RecsProcedure]>().toExtend<RecsInput>();
  });

  it('wraps exactly the recommendation procedures the server serves', () => {
    // `recs.bundle`, `recs.group` and `recs.rerank` answer shapes of their own: the SDK wraps each on its own.
    expectTypeOf<RecsProcedure | RecsSpecialProcedure>().toEqualTypeOf<keyof ServerInputs['recs']>();
  });

  it('reads every recommendation answer as a RecsResponse', () => {
    expectTypeOf<ServerOutputs['recs'][RecsProcedure]>().toEqualTypeOf<RecsResponse>();
  });

  it('reads recs.bundle with the bundle input and answer of the protocol', () => {
    expectTypeOf<ServerOutputs['recs']['bundle']>().toEqualTypeOf<BundleResponse>();
    expectTypeOf<ServerInputs['recs']['bundle']>().toExtend<BundleInput>();
    expectTypeOf<KeysOf<ServerInputs['recs']['bundle']>>().toEqualTypeOf<keyof BundleInput>();
  });

  it('reads recs.group and recs.rerank with the inputs and answers of the protocol', () => {
    expectTypeOf<ServerOutputs['recs']['group']>().toEqualTypeOf<GroupResponse>();
    expectTypeOf<Wire<GroupInput>>().toExtend<ServerInputs['recs']['group']>();
    expectTypeOf<ServerInputs['recs']['group']>().toExtend<GroupInput>();
    expectTypeOf<KeysOf<ServerInputs['recs']['group']>>().toEqualTypeOf<keyof GroupInput>();
    expectTypeOf<ServerOutputs['recs']['rerank']>().toEqualTypeOf<RerankResponse>();
    expectTypeOf<Wire<RerankInput>>().toExtend<ServerInputs['recs']['rerank']>();
    expectTypeOf<ServerInputs['recs']['rerank']>().toExtend<RerankInput>();
    expectTypeOf<KeysOf<ServerInputs['recs']['rerank']>>().toEqualTypeOf<keyof RerankInput>();
  });

  it('links ids with the input users.alias expects', () => {
    expectTypeOf<AliasInput>().toEqualTypeOf<ServerInputs['users']['alias']>();
  });
});
