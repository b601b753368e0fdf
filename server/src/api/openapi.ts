import type { AnyTRPCProcedure, AnyTRPCRouter } from '@trpc/server';
import type { ZodType } from 'zod';
import { z } from 'zod';
import { createDocument, type oas31, type ZodOpenApiPathsObject } from 'zod-openapi';
import { secretProcedure } from './init';

/** Where the REST form of every procedure lives: `POST /v1/rest/items/upsert` is `items.upsert`. */
export const REST_PREFIX = '/v1/rest/';

/** One procedure as a REST operation. */
export interface RestRoute {
  /** The tRPC path, e.g. `admin.config.save`. */
  procedure: string;
  /** The HTTP path, e.g. `/v1/rest/admin/config/save`. */
  path: string;
  type: 'query' | 'mutation';
  /** Only secret keys may call it (else publishable keys too, from their allowed origins). */
  secretOnly: boolean;
  /** The procedure's input contract; absent when it takes none. */
  input: ZodType | undefined;
  /** The procedure's output contract, when it declares one. */
  output: ZodType | undefined;
}

interface ProcedureDef {
  type: 'query' | 'mutation' | 'subscription';
  inputs: unknown[];
  output?: unknown;
  middlewares: unknown[];
}

// The middleware `secretProcedure` adds on top of `keyedProcedure`: a procedure built on
// `secretProcedure` carries this very function, so key policy is read from the contract itself.
const secretKeyCheck = (secretProcedure as unknown as { _def: ProcedureDef })._def.middlewares.at(-1);

/** The REST path of a tRPC procedure path. */
export function restPath(procedure: string): string {
  return REST_PREFIX + procedure.split('.').join('/');
}

/**
 * Every query and mutation of the router, as REST routes: derived from the router itself, so a
 * procedure added with the same contract style (a zod `.input()`) is published without further
 * declaration. Subscriptions have no REST form and are left out.
 */
export function restRoutes(router: AnyTRPCRouter): RestRoute[] {
  const procedures = router._def.procedures as Record<string, AnyTRPCProcedure>;
  const routes: RestRoute[] = [];
  for (const [procedure, value] of Object.entries(procedures)) {
    const def = (value as unknown as { _def: ProcedureDef })._def;
    if (def.type === 'subscription') continue;
    routes.push({
      procedure,
      path: restPath(procedure),
      type: def.type,
      secretOnly: secretKeyCheck !== undefined && def.middlewares.includes(secretKeyCheck),
      // Chained `.input()` calls: tRPC merges what each parses, so the body must satisfy them all.
      input: (def.inputs as ZodType[]).reduce<ZodType | undefined>(
        (all, next) => (all ? z.intersection(all, next) : next),
        undefined,
      ),
      output: def.output as ZodType | undefined,
    });
  }
  return routes.sort((a, b) => a.procedure.localeCompare(b.procedure));
}

/** The error body every REST (and tRPC) failure carries: what went wrong, where, how to fix it. */
const errorEnvelope = z
  .object({
    error: z.object({
      message: z.string().meta({ description: 'What was wrong and what to do about it.' }),
      code: z.number().int().meta({ description: 'JSON-RPC style code (tRPC).' }),
      data: z.object({
        code: z.string().meta({ examples: ['BAD_REQUEST'] }),
        httpStatus: z.number().int(),
        path: z.string().optional().meta({ description: 'The procedure, e.g. items.upsert.' }),
        requestId: z.string().optional().meta({ description: 'Also in the X-Request-Id header.' }),
        issues: z
          .array(z.object({ path: z.string(), message: z.string() }))
          .optional()
          .meta({ description: 'Each invalid field of the input, by dotted path.' }),
        limit: z.string().optional().meta({ description: 'On 429: the limit that was reached.' }),
        retryAfter: z.number().optional().meta({ description: 'On 429: seconds to wait.' }),
      }),
    }),
  })
  .meta({ id: 'Error' });

const errorResponse = (description: string) => ({
  description,
  content: { 'application/json': { schema: errorEnvelope } },
});

/** Options of {@link createOpenApiDocument}. */
export interface OpenApiOptions {
  /** Shown as the document's version. */
  version: string;
  /** The server URL clients call, when known (e.g. the request's own origin). */
  serverUrl?: string;
}

/**
 * The OpenAPI 3.1 document of every REST route, its request bodies rendered from the same zod
 * contracts tRPC validates with (by zod-openapi, on zod's own JSON Schema output).
 */
export function createOpenApiDocument(router: AnyTRPCRouter, options: OpenApiOptions): oas31.OpenAPIObject {
  const paths: ZodOpenApiPathsObject = {};
  for (const route of restRoutes(router)) {
    const [group] = route.procedure.split('.');
    const keys = route.secretOnly
      ? 'a secret key'
      : 'a publishable key (from an allowed origin) or a secret key';
    const inputOptional = route.input === undefined || route.input.safeParse(undefined).success;
    paths[route.path] = {
      post: {
        operationId: route.procedure,
        summary: route.procedure,
        description: `The tRPC ${route.type} \`${route.procedure}\` over plain HTTP: send its input as the JSON body; needs ${keys}.`,
        tags: [group ?? route.procedure],
        security: route.secretOnly ? [{ secretKey: [] }] : [{ secretKey: [] }, { publishableKey: [] }],
        ...(route.input
          ? {
              requestBody: {
                required: !inputOptional,
                content: { 'application/json': { schema: route.input } },
              },
            }
          : {}),
        responses: {
          '200': {
            description: route.output
              ? 'The result.'
              : 'The result: the same JSON a tRPC client receives as `result.data`.',
            content: { 'application/json': { schema: route.output ?? z.unknown() } },
          },
          '400': errorResponse('The input is invalid; `error.data.issues` names each field.'),
          '401': errorResponse('No key, an unknown or revoked key, or an unproven user token.'),
          '403': errorResponse('The key may not call this procedure, or not from this Origin.'),
          '404': errorResponse('What the input names does not exist.'),
          '409': errorResponse('The request conflicts with the current state.'),
          '413': errorResponse('The body exceeds 16 MB.'),
          '429': errorResponse('Rate limited; retry after the `Retry-After` header.'),
          '503': errorResponse('Database unreachable or engines loading; retry after `Retry-After`.'),
        },
      },
    };
  }
  return createDocument(
    {
      openapi: '3.1.0',
      info: {
        title: 'Recsys API',
        version: options.version,
        description:
          'Every tRPC procedure of Recsys as `POST /v1/rest/<path with dots as slashes>` with a JSON body. ' +
          'Send the key as `Authorization: Bearer <key>`. Every response carries an `X-Request-Id` header.',
      },
      ...(options.serverUrl ? { servers: [{ url: options.serverUrl }] } : {}),
      components: {
        securitySchemes: {
          secretKey: {
            type: 'http',
            scheme: 'bearer',
            description: 'A secret key (`sk_…`): server-side only.',
          },
          publishableKey: {
            type: 'http',
            scheme: 'bearer',
            description: 'A publishable key (`pk_…`): browsers, only from its allowed origins.',
          },
        },
      },
      paths,
    },
    // Output of procedures without an output contract is described in words, not as a schema.
    { allowEmptySchema: { unknown: true } },
  );
}
