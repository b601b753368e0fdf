import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import type { EmbeddingEncoder } from '@recsys/engine';
import { DATASET_NAMES, generate, generatorSpecSchema } from '@recsys/fixtures';
import { z } from 'zod';
import { type Database, describeZodError, readStructuredFile, UserError } from '../../index';
import { defaultDataDir } from '../eval';
import { fileTimestamp } from './evidence';
import { type GuardrailsFile, loadGuardrails } from './guardrails';
import { runSimulation, type SimulationOptions } from './runSimulation';
import type { SeedSource } from './seed';

const evalSchema = z
  .object({
    protocol: z.enum(['user', 'next-item']).optional(),
    ks: z.array(z.number().int().min(1).max(1000)).min(1).optional(),
    maxUsers: z.number().int().positive().optional(),
    methods: z.array(z.string().min(1)).optional(),
    segmentBy: z.array(z.string().min(1)).optional(),
    embeddings: z.boolean().optional(),
  })
  .strict();

const runFields = {
  profile: z.string().min(1).optional(),
  cut: z.string().min(1).optional(),
  eval: evalSchema.optional(),
  scenarios: z.array(z.string().min(1)).optional(),
  scenarioWaitMs: z.number().int().min(0).optional(),
  shiftToNow: z.boolean().optional(),
};

const runSchema = z
  .object({
    name: z.string().min(1),
    namespace: z.string().min(1),
    fixture: z.string().min(1).optional(),
    generate: generatorSpecSchema.optional(),
    dataset: z.enum(DATASET_NAMES).optional(),
    datasets: z.string().min(1).optional(),
    ...runFields,
  })
  .strict()
  .superRefine((run, ctx) => {
    const given = [run.fixture, run.generate, run.dataset].filter((v) => v !== undefined).length;
    if (given !== 1) {
      ctx.addIssue({ code: 'custom', message: 'give exactly one of fixture, generate or dataset' });
    }
  });

export const batchFileSchema = z
  .object({
    /** Guardrails file, relative to the batch file. */
    guardrails: z.string().min(1).optional(),
    /** Settings every run inherits. */
    defaults: z.object(runFields).strict().optional(),
    runs: z.array(runSchema).min(1, 'list at least one run'),
  })
  .strict();

export type BatchFile = z.output<typeof batchFileSchema>;

export interface BatchRunSummary {
  name: string;
  namespaceId: string;
  status: 'pass' | 'fail' | 'error';
  breaches: string[];
  scenarios: { passed: number; failed: number; skipped: number };
  bundleDir: string | null;
  error: string | null;
}

export interface BatchResult {
  runs: BatchRunSummary[];
  passed: boolean;
  errored: boolean;
  summaryPath: string;
}

/** Reads a batch file; paths inside it are resolved against its folder. */
export function loadBatchFile(path: string): { batch: BatchFile; baseDir: string } {
  const parsed = batchFileSchema.safeParse(readStructuredFile(path));
  if (!parsed.success)
    throw new UserError('BAD_REQUEST', `Invalid batch file ${path}: ${describeZodError(parsed.error)}`);
  return { batch: parsed.data, baseDir: dirname(resolve(path)) };
}

function sourceOf(run: BatchFile['runs'][number], baseDir: string): SeedSource {
  const at = (p: string) => (isAbsolute(p) ? p : resolve(baseDir, p));
  if (run.fixture) return { kind: 'fixture', path: at(run.fixture) };
  if (run.generate) {
    return {
      kind: 'data',
      data: generate(run.generate),
      label: `generate:${run.generate.template}`,
      seed: run.generate.seed,
    };
  }
  return {
    kind: 'dataset',
    name: run.dataset!,
    dataDir: at(run.datasets ?? process.env.RECSYS_DATASETS ?? defaultDataDir),
  };
}

function markdown(runs: BatchRunSummary[]): string {
  const lines = [
    `# Simulation batch: ${runs.every((r) => r.status === 'pass') ? 'PASS' : 'FAIL'}`,
    '',
    '| run | namespace | status | scenarios (pass/fail/skip) | breaches | bundle |',
    '|---|---|---|---|---|---|',
  ];
  for (const r of runs) {
    lines.push(
      `| ${r.name} | ${r.namespaceId} | ${r.status.toUpperCase()} | ${r.scenarios.passed}/${r.scenarios.failed}/${r.scenarios.skipped} | ${r.error ? `error: ${r.error.replace(/\|/g, '/')}` : r.breaches.join('; ').replace(/\|/g, '/') || '-'} | ${r.bundleDir ?? '-'} |`,
    );
  }
  const passed = runs.filter((r) => r.status === 'pass').length;
  lines.push('', `${passed} of ${runs.length} runs passed.`);
  return `${lines.join('\n')}\n`;
}

/**
 * Runs every simulation of a batch file in order (one failing or crashing run
 * does not stop the others) and writes `<reportsDir>/batch-<timestamp>.md`
 * and `.json` with a pass/fail line per run.
 */
export async function runBatch(
  database: Database,
  path: string,
  options: {
    encoder: EmbeddingEncoder | null;
    reportsDir?: string;
    log?: (line: string) => void;
    guardrails?: GuardrailsFile;
  },
): Promise<BatchResult> {
  const { batch, baseDir } = loadBatchFile(path);
  const guardrails =
    options.guardrails ?? (batch.guardrails ? loadGuardrails(resolve(baseDir, batch.guardrails)) : undefined);
  const reportsDir = options.reportsDir ?? 'reports';
  const runs: BatchRunSummary[] = [];
  for (const run of batch.runs) {
    const merged = {
      ...batch.defaults,
      ...Object.fromEntries(Object.entries(run).filter(([, v]) => v !== undefined)),
    } as typeof run;
    try {
      const sim: SimulationOptions = {
        name: merged.name,
        namespaceId: merged.namespace,
        source: sourceOf(merged, baseDir),
        profile:
          merged.profile && /[/\\.]/.test(merged.profile) ? resolve(baseDir, merged.profile) : merged.profile,
        cut: merged.cut,
        ...(merged.eval ? { eval: merged.eval } : {}),
        scenarios: merged.scenarios,
        ...(merged.scenarioWaitMs !== undefined ? { scenarioWaitMs: merged.scenarioWaitMs } : {}),
        ...(merged.shiftToNow !== undefined ? { shiftToNow: merged.shiftToNow } : {}),
        guardrails,
        reportsDir,
        encoder: options.encoder,
        ...(options.log ? { log: options.log } : {}),
      };
      const result = await runSimulation(database, sim);
      runs.push({
        name: merged.name,
        namespaceId: merged.namespace,
        status: result.passed ? 'pass' : 'fail',
        breaches: result.guardrails.filter((g) => !g.passed).map((g) => `${g.rule} (${g.actual})`),
        scenarios: {
          passed: result.scenarios.filter((s) => s.status === 'pass').length,
          failed: result.scenarios.filter((s) => s.status === 'fail').length,
          skipped: result.scenarios.filter((s) => s.status === 'skip').length,
        },
        bundleDir: result.bundleDir,
        error: null,
      });
    } catch (error) {
      runs.push({
        name: merged.name,
        namespaceId: merged.namespace,
        status: 'error',
        breaches: [],
        scenarios: { passed: 0, failed: 0, skipped: 0 },
        bundleDir: null,
        error: (error as Error).message,
      });
    }
  }
  mkdirSync(resolve(reportsDir), { recursive: true });
  const stamp = fileTimestamp();
  const summaryPath = resolve(join(reportsDir, `batch-${stamp}.md`));
  writeFileSync(summaryPath, markdown(runs));
  writeFileSync(resolve(join(reportsDir, `batch-${stamp}.json`)), `${JSON.stringify({ runs }, null, 2)}\n`);
  return {
    runs,
    passed: runs.every((r) => r.status === 'pass'),
    errored: runs.some((r) => r.status === 'error'),
    summaryPath,
  };
}
