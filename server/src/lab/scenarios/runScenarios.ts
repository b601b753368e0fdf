import { type ItemView, UserError } from '../../index';
import { SCENARIOS } from './suite';
import type { ApiClient, Scenario, ScenarioContext, ScenarioResult } from './types';

export interface ContextOptions {
  /**
   * List length requested by scenarios.
   * @default 10
   */
  k?: number;
  /**
   * Longest wait for asynchronous server work (embeddings of a new item).
   * @default 30000
   */
  waitMs?: number;
}

/** Reads what scenarios need to know about the namespace, through the API only. */
export async function buildScenarioContext(
  api: ApiClient,
  namespaceId: string,
  options: ContextOptions = {},
): Promise<ScenarioContext> {
  const catalog = new Map<string, ItemView>();
  let cursor: string | undefined;
  do {
    const page = await api.items.list.query({ status: 'all', limit: 1000, ...(cursor ? { cursor } : {}) });
    for (const item of page.items) catalog.set(item.itemId, item);
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  const recent = await api.events.list.query({ limit: 1000 });
  const users = new Map<string, number>();
  const items = new Map<string, number>();
  for (const e of recent.events) {
    if (e.userId) users.set(e.userId, (users.get(e.userId) ?? 0) + 1);
    const view = e.itemId ? catalog.get(e.itemId) : undefined;
    if (view && !view.archivedAt && view.available) items.set(view.itemId, (items.get(view.itemId) ?? 0) + 1);
  }
  const top = (m: Map<string, number>) =>
    [...m]
      .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
      .slice(0, 10)
      .map(([id]) => id);
  return {
    api,
    namespaceId,
    catalog,
    warmUsers: top(users),
    hotItems: top(items),
    k: options.k ?? 10,
    now: new Date(),
    waitMs: options.waitMs ?? 30_000,
  };
}

export interface RunScenariosOptions {
  /**
   * Scenario ids to run (all when absent).
   * @example ['filters.include-tags', 'determinism.seed']
   */
  only?: string[] | undefined;
  /**
   * Thresholds overriding the scenarios' own, by id (from guardrails).
   * @example { 'coldstart.breadth': 4 }
   */
  thresholds?: Record<string, number> | undefined;
  /**
   * The scenarios to choose from.
   * @default SCENARIOS
   */
  scenarios?: readonly Scenario[];
  /** Called after each scenario (progress output). */
  onResult?: (result: ScenarioResult) => void;
}

/** Runs scenarios one after another; a scenario that throws fails with the error as its detail. */
export async function runScenarios(
  ctx: ScenarioContext,
  options: RunScenariosOptions = {},
): Promise<ScenarioResult[]> {
  const all = options.scenarios ?? SCENARIOS;
  const unknown = (options.only ?? []).filter((id) => !all.some((s) => s.id === id));
  if (unknown.length) {
    throw new UserError(
      'BAD_REQUEST',
      `Unknown scenario(s) ${unknown.join(', ')}; known: ${all.map((s) => s.id).join(', ')}.`,
    );
  }
  const chosen = options.only?.length ? all.filter((s) => options.only?.includes(s.id)) : all;
  const results: ScenarioResult[] = [];
  for (const scenario of chosen) {
    const threshold = options.thresholds?.[scenario.id] ?? scenario.threshold;
    const started = performance.now();
    let result: ScenarioResult;
    try {
      const outcome = await scenario.run(ctx, threshold);
      const meets = scenario.direction === 'min' ? outcome.value >= threshold : outcome.value <= threshold;
      const violations = outcome.violations ?? [];
      result = {
        id: scenario.id,
        version: scenario.version,
        description: scenario.description,
        status: outcome.skipped ? 'skip' : meets && violations.length === 0 ? 'pass' : 'fail',
        threshold,
        direction: scenario.direction,
        value: outcome.skipped ? null : outcome.value,
        detail: [outcome.skipped ?? outcome.detail, ...violations].join('; '),
        ms: Math.round(performance.now() - started),
      };
    } catch (error) {
      result = {
        id: scenario.id,
        version: scenario.version,
        description: scenario.description,
        status: 'fail',
        threshold,
        direction: scenario.direction,
        value: null,
        detail: `error: ${(error as Error).message}`,
        ms: Math.round(performance.now() - started),
      };
    }
    results.push(result);
    options.onResult?.(result);
  }
  return results;
}

const fmt = (v: number | null) => (v === null ? '-' : Number.isInteger(v) ? String(v) : v.toFixed(3));

/** A fixed-width table for terminals and summary.md code blocks. */
export function formatScenarioTable(results: readonly ScenarioResult[]): string {
  const rows = results.map((r) => [
    r.status.toUpperCase(),
    `${r.id}@${r.version}`,
    fmt(r.value),
    `${r.direction === 'min' ? '>=' : '<='} ${fmt(r.threshold)}`,
    r.detail,
  ]);
  const header = ['STATUS', 'SCENARIO', 'VALUE', 'THRESHOLD', 'DETAIL'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (i < 4 ? r[i]!.length : 0))));
  const line = (cells: string[]) => cells.map((c, i) => (i < 4 ? c.padEnd(widths[i]!) : c)).join('  ');
  const passed = results.filter((r) => r.status === 'pass').length;
  const failed = results.filter((r) => r.status === 'fail').length;
  const skipped = results.length - passed - failed;
  return [line(header), ...rows.map(line), '', `${passed} passed, ${failed} failed, ${skipped} skipped`].join(
    '\n',
  );
}

function csvCell(value: string | number | null): string {
  const text = value === null ? '' : String(value);
  return /[",\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** RFC 4180 CSV, one row per scenario. */
export function scenariosToCsv(results: readonly ScenarioResult[]): string {
  const header = [
    'id',
    'version',
    'status',
    'value',
    'direction',
    'threshold',
    'ms',
    'description',
    'detail',
  ];
  const lines = results.map((r) =>
    [r.id, r.version, r.status, r.value, r.direction, r.threshold, r.ms, r.description, r.detail]
      .map(csvCell)
      .join(','),
  );
  return `${[header.join(','), ...lines].join('\r\n')}\r\n`;
}
