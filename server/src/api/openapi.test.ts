import { Validator } from '@seriousme/openapi-schema-validator';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { keyedProcedure, router, secretProcedure } from './init';
import { createOpenApiDocument, restRoutes } from './openapi';

/** A router as another part of the server might add to `appRouter`, in the same contract style. */
const added = router({
  admin: router({
    rules: router({
      list: secretProcedure.input(z.object({ limit: z.number().int().max(50).optional() })).query(() => []),
      save: secretProcedure
        .input(z.object({ ruleId: z.string() }))
        .input(z.object({ note: z.string().optional() }))
        .mutation(() => ({ saved: true })),
      clear: secretProcedure.mutation(() => ({ cleared: 0 })),
    }),
  }),
  recs: router({ peek: keyedProcedure.input(z.object({ itemId: z.string() })).query(() => null) }),
});

describe('REST routes and the OpenAPI document', () => {
  it('publish a procedure added to the router without any further declaration', () => {
    expect(
      restRoutes(added).map(({ procedure, path, type, secretOnly }) => ({
        procedure,
        path,
        type,
        secretOnly,
      })),
    ).toEqual([
      {
        procedure: 'admin.rules.clear',
        path: '/v1/rest/admin/rules/clear',
        type: 'mutation',
        secretOnly: true,
      },
      { procedure: 'admin.rules.list', path: '/v1/rest/admin/rules/list', type: 'query', secretOnly: true },
      {
        procedure: 'admin.rules.save',
        path: '/v1/rest/admin/rules/save',
        type: 'mutation',
        secretOnly: true,
      },
      { procedure: 'recs.peek', path: '/v1/rest/recs/peek', type: 'query', secretOnly: false },
    ]);
  });

  it('describe each body from its zod input, chained inputs as all of them, in a valid OpenAPI 3.1 document', async () => {
    const document = createOpenApiDocument(added, { version: '9.9.9' });
    expect((await new Validator().validate(document as never)).valid).toBe(true);
    const body = (path: string) =>
      (
        document.paths?.[path]?.post?.requestBody as
          | { content: Record<string, { schema: unknown }> }
          | undefined
      )?.content['application/json']?.schema;
    expect(body('/v1/rest/admin/rules/list')).toMatchObject({
      type: 'object',
      properties: { limit: { type: 'integer', maximum: 50 } },
    });
    expect(body('/v1/rest/admin/rules/save')).toMatchObject({
      type: 'object',
      properties: { ruleId: { type: 'string' }, note: { type: 'string' } },
      required: ['ruleId'],
    });
    expect(body('/v1/rest/admin/rules/clear')).toBeUndefined();
    expect(document.paths?.['/v1/rest/recs/peek']?.post?.security).toEqual([
      { secretKey: [] },
      { publishableKey: [] },
    ]);
    expect(document.paths?.['/v1/rest/admin/rules/list']?.post?.security).toEqual([{ secretKey: [] }]);
  });
});
