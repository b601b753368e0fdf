import { createTextEncoder, type EmbeddingEncoder } from '@recsys/engine';
import { generate } from '@recsys/fixtures';
import type { TRPCLink } from '@trpc/client';
import { observable } from '@trpc/server/observable';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AppRouter, type Database, saveConfig } from '../../index';
import { getTestDatabaseTargets } from '../../testing';
import { seedNamespace } from '../simulate/seed';
import { type InProcessServer, startInProcessServer } from './inProcess';
import { buildScenarioContext, formatScenarioTable, runScenarios, scenariosToCsv } from './runScenarios';
import { SCENARIOS } from './suite';
import { createApiClient, type ScenarioResult } from './types';

/** A client-side fault: recommendation requests lose their filters on the way out. */
const dropFiltersLink: TRPCLink<AppRouter> =
  () =>
  ({ next, op }) =>
    observable((observer) => {
      const input = op.input as Record<string, unknown> | undefined;
      const stripped =
        op.path.startsWith('recs.') && input && 'filters' in input
          ? { ...op, input: { ...input, filters: undefined } }
          : op;
      return next(stripped).subscribe(observer);
    });

/** A deliberately broken setup: rules are stored disabled and overrides name no real item. */
const ignoreRulesLink: TRPCLink<AppRouter> =
  () =>
  ({ next, op }) =>
    observable((observer) => {
      const input = op.input as Record<string, unknown> | undefined;
      let changed = op;
      if (op.path === 'admin.rules.create' && input) {
        changed = { ...op, input: { ...input, rule: { ...(input.rule as object), enabled: false } } };
      } else if (op.path === 'admin.overrides.add' && input) {
        changed = { ...op, input: { ...input, itemIds: ['scenario-no-such-item'] } };
      }
      return next(changed).subscribe(observer);
    });

/** Another broken setup: every boost is stored as the matching bury. */
const boostAsBuryLink: TRPCLink<AppRouter> =
  () =>
  ({ next, op }) =>
    observable((observer) => {
      const rule = (op.input as { rule?: { kind?: string; multiplier?: number } } | undefined)?.rule;
      const changed =
        op.path === 'admin.rules.create' && rule?.kind === 'boost'
          ? {
              ...op,
              input: {
                ...(op.input as object),
                rule: { ...rule, kind: 'bury', multiplier: 1 / (rule.multiplier ?? 1) },
              },
            }
          : op;
      return next(changed).subscribe(observer);
    });

const RULE_SCENARIOS = [
  'rules.block-tag',
  'rules.override-boost-third',
  'rules.pin-first',
  'rules.brand-include',
  'rules.new-item-exposure',
  'rules.margin-boost',
];

const byId = (results: ScenarioResult[]) => Object.fromEntries(results.map((r) => [r.id, r]));

describe.each(getTestDatabaseTargets())('scenario suite through the real API on $name', (target) => {
  let database: Database & { drop(): Promise<void> };
  let encoder: EmbeddingEncoder;
  let server: InProcessServer;

  beforeAll(async () => {
    database = await target.open();
    encoder = await createTextEncoder({ kind: 'builtin' });
    const data = generate({ template: 'retail', seed: 11, items: 120, sessions: 600 });
    await seedNamespace(
      database,
      'scn',
      { data, label: 'test', seed: 11, importReport: undefined },
      { shiftTo: new Date() },
    );
    server = await startInProcessServer(database, 'scn', { encoder, pollIntervalMs: 100 });
  });
  afterAll(async () => {
    await server?.close();
    await encoder?.dispose();
    await database?.drop();
  });

  it('passes every scenario on a healthy server and reports each with a value and detail', async () => {
    const ctx = await buildScenarioContext(createApiClient(server.url, server.key), 'scn', {
      waitMs: 20_000,
    });
    expect(ctx.warmUsers.length).toBeGreaterThan(0);
    const results = await runScenarios(ctx);
    expect(results.map((r) => r.id)).toEqual(SCENARIOS.map((s) => s.id));
    const failing = results.filter((r) => r.status !== 'pass');
    expect(failing, formatScenarioTable(results)).toEqual([]);
    for (const r of results) expect(r.detail.length).toBeGreaterThan(0);

    const table = formatScenarioTable(results);
    expect(table).toMatch(/PASS\s+filters\.include-tags@1/);
    expect(table).toMatch(/17 passed, 0 failed, 0 skipped/);
    const csv = scenariosToCsv(results).trim().split('\r\n');
    expect(csv[0]).toBe('id,version,status,value,direction,threshold,ms,description,detail');
    expect(csv).toHaveLength(SCENARIOS.length + 1);
  });

  it('fails the filter scenarios when a client drops filters', async () => {
    const broken = createApiClient(server.url, server.key, { links: [dropFiltersLink] });
    const ctx = await buildScenarioContext(broken, 'scn');
    const results = byId(
      await runScenarios(ctx, {
        only: ['filters.include-tags', 'filters.price-bounds', 'exclusions.cart-items'],
      }),
    );
    expect(results['filters.include-tags']?.status).toBe('fail');
    expect(results['filters.include-tags']?.value).toBeLessThan(1);
    expect(results['filters.include-tags']?.detail).toMatch(/offenders/);
    expect(results['filters.price-bounds']?.status).toBe('fail');
    // Not a filter: the cart exclusion still holds, so the failure is specific.
    expect(results['exclusions.cart-items']?.status).toBe('pass');
  });

  it('fails every rule scenario when rules are not applied, and the margin one when boosts act as buries', async () => {
    const ignored = await buildScenarioContext(
      createApiClient(server.url, server.key, { links: [ignoreRulesLink] }),
      'scn',
    );
    const results = byId(await runScenarios(ignored, { only: RULE_SCENARIOS.slice(0, 5) }));
    for (const id of RULE_SCENARIOS.slice(0, 5))
      expect(results[id]?.status, `${id}: ${results[id]?.detail}`).toBe('fail');
    expect(results['rules.block-tag']?.detail).toMatch(/after it [1-9]\d* of/);
    const inverted = await buildScenarioContext(
      createApiClient(server.url, server.key, { links: [boostAsBuryLink] }),
      'scn',
    );
    const [margin] = await runScenarios(inverted, { only: ['rules.margin-boost'] });
    expect(margin?.status, margin?.detail).toBe('fail');
    // Nothing a scenario wrote is left behind.
    const api = createApiClient(server.url, server.key);
    expect(await api.admin.rules.list.query()).toEqual([]);
    expect((await api.admin.overrides.list.query()).every((o) => o.state !== 'active')).toBe(true);
  });

  it('fails the relevance scenario when the namespace config makes diversity collapse relevance', async () => {
    await saveConfig(database, 'scn', {
      config: { diversity: { lambda: 0 } },
      note: 'deliberately broken: pure novelty',
      activate: true,
    });
    await server.engines.catchUp();
    const ctx = await buildScenarioContext(createApiClient(server.url, server.key), 'scn');
    const [result] = await runScenarios(ctx, { only: ['diversity.configured-relevance'] });
    expect(result?.status).toBe('fail');
    expect(result?.value).toBeLessThan(0.6);
    // A guardrail can loosen a threshold; then the same value passes.
    const [loose] = await runScenarios(ctx, {
      only: ['diversity.configured-relevance'],
      thresholds: { 'diversity.configured-relevance': 0 },
    });
    expect(loose?.status).toBe('pass');
  });

  it('fails the new-item scenario on a server without text embeddings', async () => {
    const plain = await startInProcessServer(database, 'scn', { encoder: null });
    try {
      const ctx = await buildScenarioContext(createApiClient(plain.url, plain.key), 'scn', { waitMs: 0 });
      const [result] = await runScenarios(ctx, { only: ['coldstart.new-items'] });
      expect(result?.status).toBe('fail');
      expect(result?.detail).toMatch(/never appeared/);
    } finally {
      await plain.close();
    }
  });

  it('refuses unknown scenario ids with the known ones listed', async () => {
    const ctx = await buildScenarioContext(createApiClient(server.url, server.key), 'scn');
    await expect(runScenarios(ctx, { only: ['nope'] })).rejects.toThrow(
      /Unknown scenario\(s\) nope; known: filters/,
    );
  });
});
