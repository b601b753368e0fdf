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
} from '@recsys/protocol';
import type { AnyProcedure, AnyRouter, inferRouterInputs, inferRouterOutputs } from '@trpc/server';
import { callProcedure, type RpcConfig } from './rpc';
import type { RecommendationContext } from './types';

/** Input of `users.alias`. */
export interface AliasInput {
  anonymousId: string;
  userId: string;
}

/** The recommendation procedures the SDK wraps as `recs.<name>()`. */
export const RECS_PROCEDURES = [
  'forUser',
  'similar',
  'cart',
  'buyAgain',
  'trending',
  'recentlyViewed',
] as const;
export type RecsProcedure = (typeof RECS_PROCEDURES)[number];
/** The other `recs.*` procedures the SDK wraps, each with its own input and answer. */
export type RecsSpecialProcedure = 'bundle' | 'group' | 'rerank';

/**
 * The hand-written contract, used while no router type is given
 * (`createRecsysClient()` without a type argument). Path → [input, output].
 */
export interface DefaultRecsysApi {
  query: { [P in RecsProcedure as `recs.${P}`]: [RecsInput, RecsResponse] } & {
    'recs.bundle': [BundleInput, BundleResponse];
    'recs.group': [GroupInput, GroupResponse];
    'recs.rerank': [RerankInput, RerankResponse];
  };
  mutation: { 'users.alias': [AliasInput, unknown] };
}

type ProcedurePaths<TRecord, TType extends string, TPrefix extends string = ''> = {
  [K in keyof TRecord & string]: TRecord[K] extends AnyProcedure
    ? TRecord[K]['_def']['type'] extends TType
      ? `${TPrefix}${K}`
      : never
    : ProcedurePaths<TRecord[K], TType, `${TPrefix}${K}.`>;
}[keyof TRecord & string];

type At<T, P extends string> = P extends `${infer H}.${infer R}`
  ? H extends keyof T
    ? At<T[H], R>
    : never
  : P extends keyof T
    ? T[P]
    : never;

type FromRouter<TRouter extends AnyRouter, TType extends 'query' | 'mutation'> = {
  [P in ProcedurePaths<TRouter['_def']['record'], TType>]: [
    At<inferRouterInputs<TRouter>, P>,
    At<inferRouterOutputs<TRouter>, P>,
  ];
};

/**
 * Path → [input, output] for queries and mutations: inferred from a tRPC router
 * type (`import type { AppRouter } from '@recsys/server'`), else `DefaultRecsysApi`.
 */
export type RecsysApi<TRouter> = [TRouter] extends [AnyRouter]
  ? { query: FromRouter<TRouter, 'query'>; mutation: FromRouter<TRouter, 'mutation'> }
  : DefaultRecsysApi;

type Args<TInput> = undefined extends TInput
  ? [input?: TInput]
  : Record<string, never> extends TInput
    ? [input?: TInput]
    : [input: TInput];
type RecsMethod<TApi extends { query: object }, P extends string> = P extends keyof TApi['query']
  ? TApi['query'][P] extends [infer I, infer O]
    ? (...args: Args<I>) => Promise<O>
    : never
  : never;

/** Call options. */
export interface CallOptions {
  /** Aborts the request (e.g. a widget unmounted). */
  signal?: AbortSignal;
}

/** A typed client for the Recsys tRPC API, tiny enough for the browser bundle. */
export interface RecsysClient<TRouter = unknown> {
  query<P extends keyof RecsysApi<TRouter>['query'] & string>(
    path: P,
    input: RecsysApi<TRouter>['query'][P] extends [infer I, unknown] ? I : never,
    options?: CallOptions,
  ): Promise<RecsysApi<TRouter>['query'][P] extends [unknown, infer O] ? O : never>;
  mutate<P extends keyof RecsysApi<TRouter>['mutation'] & string>(
    path: P,
    input: RecsysApi<TRouter>['mutation'][P] extends [infer I, unknown] ? I : never,
    options?: CallOptions,
  ): Promise<RecsysApi<TRouter>['mutation'][P] extends [unknown, infer O] ? O : never>;
  /**
   * `recs.forUser(input)`, `recs.similar({ itemId })`, …, `recs.bundle({ itemId })` (a product
   * bundle), `recs.group({ members })` (one list for several people) and `recs.rerank({ itemIds })`
   * (the caller's candidates reordered for the visitor).
   */
  recs: { [P in RecsProcedure | RecsSpecialProcedure]: RecsMethod<RecsysApi<TRouter>, `recs.${P}`> };
}

/** Options of `createRecsysClient`. */
export interface RecsysClientOptions extends RpcConfig {
  /**
   * Default input merged under every `recs.*` input (the SDK passes the visitor's ids here).
   * @default undefined
   * @example context: () => ({ placement: 'pdp' })
   */
  context?: () => Partial<RecsInput>;
}

/**
 * Creates the typed client. Pass the server's router type to get its exact inputs and outputs:
 * @example
 * import type { AppRouter } from '@recsys/server';
 * const client = createRecsysClient<AppRouter>({ endpoint: 'https://recs.example.com', key: 'pk_…' });
 * const { items } = await client.recs.similar({ itemId: 'sku-1', k: 8 });
 */
export function createRecsysClient<TRouter = unknown>(options: RecsysClientOptions): RecsysClient<TRouter> {
  if (!options?.key || !options.endpoint) {
    throw new TypeError(
      'Recsys: `key` and `endpoint` are required, e.g. { key: "pk_…", endpoint: "https://recs.example.com" }',
    );
  }
  const call = (type: 'query' | 'mutation', path: string, input: unknown, opts?: CallOptions) =>
    callProcedure(options, type, path, input, opts?.signal);
  const recs: Record<string, (input?: object, opts?: CallOptions) => Promise<unknown>> = {};
  for (const name of [...RECS_PROCEDURES, 'bundle', 'rerank']) {
    recs[name] = (input, opts) => call('query', `recs.${name}`, { ...options.context?.(), ...input }, opts);
  }
  // A group names its members itself: of the visitor's context only the country applies.
  recs.group = (input, opts) => {
    const country = options.context?.().country;
    return call('query', 'recs.group', country ? { country, ...input } : input, opts);
  };
  return {
    query: (path, input, opts) => call('query', path, input, opts),
    mutate: (path, input, opts) => call('mutation', path, input, opts),
    recs,
  } as RecsysClient<TRouter>;
}

/**
 * The attribution context for an item shown from a recommendation response;
 * pass it as `rec` when tracking a click, add-to-cart or purchase of that item.
 * @example
 * recsys.click(item.itemId, { rec: recommendationContext(response, item, 'pdp-similar') });
 */
export function recommendationContext(
  response: Pick<RecsResponse, 'requestId' | 'surface' | 'experiment'>,
  item: Pick<RecommendedItem, 'rank'>,
  widget?: string,
): RecommendationContext {
  const ctx: RecommendationContext = {
    requestId: response.requestId,
    rank: item.rank,
    surface: response.surface,
  };
  if (widget !== undefined) ctx.widget = widget;
  // Carried back so results count the event for the variant that produced the list.
  if (response.experiment) {
    ctx.experiment = response.experiment.id;
    ctx.variant = response.experiment.variant;
  }
  return ctx;
}
