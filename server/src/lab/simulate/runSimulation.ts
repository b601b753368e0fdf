import { execFileSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { EmbeddingEncoder } from '@recsys/engine';
import type { FixtureData } from '@recsys/fixtures';
import {
  type Database,
  getActiveConfig,
  getNamespace,
  loadProfile,
  type ResetResult,
  resetNamespace,
  saveConfig,
} from '../../index';
import { datasetFromSplit, MOVIELENS_CUT, ONLINE_RETAIL_CUT, runEvaluation } from '../eval';
import { buildScenarioContext, createApiClient, runScenarios, startInProcessServer } from '../scenarios';
import type { EvalReport } from './evalTypes';
import { fileTimestamp } from './evidence';
import { checkGuardrails, type GuardrailRules, type GuardrailsFile, rulesFor } from './guardrails';
import { type SimulationResult, writeBundle } from './report';
import { loadSeed, type SeedSource, seedNamespace } from './seed';

/** Reference cuts of the real datasets (as the evaluation protocol uses them). */
const DATASET_CUTS: Record<string, string> = {
  'dataset:online-retail': ONLINE_RETAIL_CUT,
  'dataset:movielens': MOVIELENS_CUT,
};

/** Options of one simulation run. */
export interface SimulationOptions {
  /** Shown in reports and the batch summary. */
  name: string;
  namespaceId: string;
  source: SeedSource;
  /**
   * Config profile (file or built-in name) saved and activated before evaluation and scenarios.
   * @default undefined (keep the namespace's active config)
   * @example 'online-retail'
   */
  profile?: string | undefined;
  /**
   * Evaluation cut (ISO-8601). Real datasets use their reference cut; other data the point 80 % through its span.
   * @example '2024-03-01T00:00:00Z'
   */
  cut?: string | undefined;
  /**
   * Offline evaluation settings.
   * @default { protocol: 'user', ks: [5, 10, 20] }
   */
  eval?: {
    protocol?: 'user' | 'next-item';
    ks?: number[];
    maxUsers?: number;
    methods?: string[];
    segmentBy?: string[];
    embeddings?: boolean;
  };
  /** Scenario ids to run (all when absent). */
  scenarios?: string[] | undefined;
  /**
   * Longest wait of a scenario for server-side work.
   * @default 30000
   */
  scenarioWaitMs?: number;
  /**
   * Move seeded timestamps so the newest event is now (recency windows look live for scenarios).
   * Evaluation always uses the original timestamps.
   * @default true
   */
  shiftToNow?: boolean;
  /** Guardrails; without them only scenario failures fail the run. */
  guardrails?: GuardrailsFile | undefined;
  /**
   * Folder of report bundles: `<reportsDir>/<namespace>/<timestamp>/`.
   * @default 'reports'
   */
  reportsDir?: string;
  /** Text encoder for the in-process server (new-item scenario); `null` = none. */
  encoder: EmbeddingEncoder | null;
  /** Progress lines (stderr in the CLI). */
  log?: (line: string) => void;
}

function gitCommit(): string | null {
  try {
    // Asked where the server's source lives, so the commit is the code's, not the caller's folder's.
    const cwd = fileURLToPath(new URL('.', import.meta.url));
    return (
      execFileSync('git', ['rev-parse', 'HEAD'], { cwd, stdio: ['ignore', 'pipe', 'ignore'] })
        .toString()
        .trim() || null
    );
  } catch {
    return null;
  }
}

function defaultCut(data: FixtureData): string | undefined {
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (const e of data.events) {
    const t = Date.parse(e.ts);
    if (t < lo) lo = t;
    if (t > hi) hi = t;
  }
  return Number.isFinite(lo) && hi > lo ? new Date(lo + 0.8 * (hi - lo)).toISOString() : undefined;
}

const DEFAULT_RULES: GuardrailRules = {
  method: 'engine',
  relevance: 'all',
  k: 10,
  scenarios: { thresholds: {}, allowSkip: true },
};

/**
 * reset → seed → apply a config profile → offline evaluation → scenarios
 * through the real API → guardrails → report bundle. Resolves with the
 * result (and its bundle folder) whether or not guardrails passed.
 */
export async function runSimulation(
  database: Database,
  options: SimulationOptions,
): Promise<SimulationResult> {
  const log = options.log ?? (() => {});
  const startedAt = new Date();
  const timings: Record<string, number> = {};
  const step = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
    const t = performance.now();
    log(`${options.name}: ${name}…`);
    try {
      return await fn();
    } finally {
      timings[name] = Math.round(performance.now() - t);
    }
  };
  const ns = options.namespaceId;

  let reset: ResetResult | null = null;
  if (await getNamespace(database, ns)) reset = await step('reset', () => resetNamespace(database, ns));
  const loaded = await step('load', () => loadSeed(options.source));
  const seed = await step('seed', () =>
    seedNamespace(database, ns, loaded, { shiftTo: options.shiftToNow === false ? undefined : startedAt }),
  );
  const config = await step('config', async () => {
    if (options.profile) {
      const profile = loadProfile(options.profile);
      await saveConfig(database, ns, {
        config: profile.config,
        name: profile.name,
        note: profile.note ?? `simulation ${options.name}`,
        activate: true,
      });
    }
    return getActiveConfig(database, ns);
  });

  const cut = options.cut ?? DATASET_CUTS[loaded.label] ?? defaultCut(loaded.data);
  const evalOptions = {
    protocol: options.eval?.protocol ?? 'user',
    ks: options.eval?.ks ?? [5, 10, 20],
    config: config.config,
    ...(options.eval?.maxUsers ? { maxUsers: options.eval.maxUsers } : {}),
    ...(options.eval?.methods ? { methods: options.eval.methods } : {}),
    ...(options.eval?.segmentBy ? { segmentBy: options.eval.segmentBy } : {}),
    ...(options.eval?.embeddings ? { embeddings: true } : {}),
  } as const;
  let evaluation: EvalReport | null = null;
  let evaluationSkipped: string | null = null;
  if (!cut) evaluationSkipped = 'the data has no time span to split (fewer than two distinct event times)';
  else {
    const dataset = datasetFromSplit(loaded.data, cut, loaded.label);
    if (dataset.test.length === 0 || dataset.train.length === 0) {
      evaluationSkipped = `the cut ${cut} leaves ${dataset.train.length} train and ${dataset.test.length} test events`;
    } else evaluation = await step('eval', () => runEvaluation(dataset, evalOptions));
  }

  const rules = rulesFor(options.guardrails, ns) ?? DEFAULT_RULES;
  const scenarios = await step('scenarios', async () => {
    const server = await startInProcessServer(database, ns, { encoder: options.encoder });
    try {
      const ctx = await buildScenarioContext(createApiClient(server.url, server.key), ns, {
        ...(options.scenarioWaitMs !== undefined ? { waitMs: options.scenarioWaitMs } : {}),
      });
      return await runScenarios(ctx, { only: options.scenarios, thresholds: rules.scenarios.thresholds });
    } finally {
      await server.close();
    }
  });
  const guardrails = checkGuardrails(rules, evaluation ?? undefined, scenarios);
  const finishedAt = new Date();
  timings.total = finishedAt.getTime() - startedAt.getTime();
  const result: SimulationResult = {
    metadata: {
      name: options.name,
      namespaceId: ns,
      startedAt: startedAt.toISOString(),
      finishedAt: finishedAt.toISOString(),
      gitCommit: gitCommit(),
      source: loaded.label,
      seed: loaded.seed ?? null,
      dataHash: seed.dataHash,
      configVersion: config.version,
      configName: config.name,
      configHash: config.hash,
      shiftMs: seed.shiftMs,
      evalOptions: { ...evalOptions, config: undefined, cut: cut ?? null },
      database: database.describe(),
      node: process.version,
      timings,
    },
    reset,
    seed,
    evaluation,
    evaluationSkipped,
    scenarios,
    guardrails,
    passed: guardrails.every((g) => g.passed),
    bundleDir: resolve(join(options.reportsDir ?? 'reports', ns, fileTimestamp(startedAt))),
  };
  writeBundle(result, rules.method);
  return result;
}
