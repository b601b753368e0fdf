import { z } from 'zod';
import { describeZodError, readStructuredFile, UserError } from '../../index';
import type { ScenarioResult } from '../scenarios';
import type { EvalReport } from './evalTypes';

const ratio = z.number().finite().min(0);

const ruleSchema = z
  .object({
    /** The evaluation method the metric rules apply to. */
    method: z.string().min(1).default('engine'),
    /** Relevance definition of the rows checked. */
    relevance: z.enum(['all', 'discovery', 'next-item']).default('all'),
    /** Cut-off of the metrics checked (must be one of the evaluated ks). */
    k: z.number().int().positive().default(10),
    /** Minimum lift over the `popular` baseline per segment, on `metric`. */
    lift: z
      .object({
        metric: z.enum(['ndcg', 'recall', 'mrr', 'hit']).default('ndcg'),
        segments: z.record(z.string().min(1), ratio),
      })
      .strict()
      .optional(),
    /**
     * Minimum ratio of the method's `metric` to the best single baseline's in the same relevance
     * and segment (1.0 = at least as good as every baseline). Baselines are the report's methods
     * whose name does not start with `engine` (the engine and its ablations); beating only
     * `popular` is not enough when buy-again or co-visitation do better.
     */
    vsBestBaseline: z
      .object({
        metric: z.enum(['ndcg', 'recall', 'mrr', 'hit']).default('ndcg'),
        segments: z.record(z.string().min(1), ratio),
      })
      .strict()
      .optional(),
    /** Minimum catalog coverage@k (segment all). */
    coverage: ratio.max(1).optional(),
    /** Minimum long-tail share@k (segment all). */
    longTail: ratio.max(1).optional(),
    /** Any other metric minimum, e.g. `{ "ndcg@10": 0.02 }` (segment all). */
    metrics: z.record(z.string().min(1), z.number().finite()).optional(),
    scenarios: z
      .object({
        /** Thresholds replacing the scenarios' own, by id. */
        thresholds: z.record(z.string().min(1), z.number().finite()).default({}),
        /** Whether a skipped scenario is acceptable (false: skipped counts as a breach). */
        allowSkip: z.boolean().default(true),
      })
      .strict()
      .default({ thresholds: {}, allowSkip: true }),
  })
  .strict();

export type GuardrailRules = z.output<typeof ruleSchema>;

export const guardrailsFileSchema = z
  .object({
    /** Rules per namespace id; `"*"` applies to namespaces without their own entry. */
    namespaces: z.record(z.string().min(1), ruleSchema),
  })
  .strict();

export type GuardrailsFile = z.output<typeof guardrailsFileSchema>;

/** Reads and validates a guardrails YAML/JSON file. */
export function loadGuardrails(path: string): GuardrailsFile {
  const parsed = guardrailsFileSchema.safeParse(readStructuredFile(path));
  if (!parsed.success)
    throw new UserError('BAD_REQUEST', `Invalid guardrails file ${path}: ${describeZodError(parsed.error)}`);
  return parsed.data;
}

/** The rules for a namespace: its own entry, else `"*"`, else none. */
export function rulesFor(file: GuardrailsFile | undefined, namespaceId: string): GuardrailRules | undefined {
  return file?.namespaces[namespaceId] ?? file?.namespaces['*'];
}

/** One guardrail check and its outcome. */
export interface GuardrailCheck {
  rule: string;
  expected: string;
  actual: number | string | null;
  passed: boolean;
}

/**
 * Compares an evaluation report and scenario results with the rules. A rule
 * whose row or metric is missing fails (a misspelt segment must not pass
 * silently).
 */
export function checkGuardrails(
  rules: GuardrailRules,
  report: EvalReport | undefined,
  scenarios: readonly ScenarioResult[],
): GuardrailCheck[] {
  const checks: GuardrailCheck[] = [];
  const row = (segment: string) =>
    report?.rows.find(
      (r) => r.method === rules.method && r.relevance === rules.relevance && r.segment === segment,
    );
  const min = (rule: string, actual: number | undefined, bound: number) => {
    checks.push({
      rule,
      expected: `>= ${bound}`,
      actual: actual ?? 'missing',
      passed: actual !== undefined && Number.isFinite(actual) && actual >= bound,
    });
  };
  const at = `${rules.method}/${rules.relevance}`;
  if (rules.lift) {
    const key = `${rules.lift.metric}@${rules.k}`;
    for (const [segment, bound] of Object.entries(rules.lift.segments)) {
      min(`lift ${key} ${at} segment=${segment}`, row(segment)?.lift?.[key], bound);
    }
  }
  if (rules.vsBestBaseline) {
    const key = `${rules.vsBestBaseline.metric}@${rules.k}`;
    for (const [segment, bound] of Object.entries(rules.vsBestBaseline.segments)) {
      const mine = row(segment)?.metrics[key];
      const best = bestBaseline(report, rules.relevance, segment, key);
      const rule = `${key} ${at} segment=${segment} vs best baseline${best ? ` (${best.method} ${best.value.toFixed(3)})` : ''}`;
      if (mine === undefined || best === undefined) {
        checks.push({ rule, expected: `>= ${bound} × best`, actual: 'missing', passed: false });
        continue;
      }
      checks.push({
        rule,
        expected: `>= ${bound} × best`,
        actual: best.value > 0 ? Number((mine / best.value).toFixed(4)) : 'best baseline scored 0',
        passed: Number.isFinite(mine) && mine >= bound * best.value,
      });
    }
  }
  if (rules.coverage !== undefined)
    min(`coverage@${rules.k} ${at}`, row('all')?.metrics[`coverage@${rules.k}`], rules.coverage);
  if (rules.longTail !== undefined)
    min(`longtail@${rules.k} ${at}`, row('all')?.metrics[`longtail@${rules.k}`], rules.longTail);
  for (const [metric, bound] of Object.entries(rules.metrics ?? {}))
    min(`${metric} ${at}`, row('all')?.metrics[metric], bound);
  for (const s of scenarios) {
    const ok = s.status === 'pass' || (s.status === 'skip' && rules.scenarios.allowSkip);
    checks.push({
      rule: `scenario ${s.id}@${s.version}`,
      expected: `${s.direction === 'min' ? '>=' : '<='} ${s.threshold}`,
      actual: s.status === 'skip' ? 'skipped' : s.value,
      passed: ok,
    });
  }
  return checks;
}

/** The baseline (a method not named `engine…`) scoring best on `key` in one relevance and segment. */
function bestBaseline(
  report: EvalReport | undefined,
  relevance: string,
  segment: string,
  key: string,
): { method: string; value: number } | undefined {
  let best: { method: string; value: number } | undefined;
  for (const r of report?.rows ?? []) {
    if (r.relevance !== relevance || r.segment !== segment || r.method.startsWith('engine')) continue;
    const value = r.metrics[key];
    if (value !== undefined && Number.isFinite(value) && (best === undefined || value > best.value)) {
      best = { method: r.method, value };
    }
  }
  return best;
}
