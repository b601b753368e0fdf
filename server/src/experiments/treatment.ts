import type { Surface } from '@recsys/engine/protocol';
import type { ServeInput } from '../serve/EngineService';
import type { AssignedTreatment } from './assign';

/**
 * The request as the assigned variant ranks it, or `'off'` when the variant hides the list.
 *
 * `config` and `profile` variants rank with their snapshot of per-request settings, over whatever
 * the caller overrode (the experiment decides what is compared). `rules` variants rank with their
 * rule set's rules besides the base set's (see `RuleDefinition.ruleSet`). `control` and
 * `surface: on` change nothing.
 */
export function applyTreatment(
  input: ServeInput,
  surface: Surface,
  assigned: AssignedTreatment,
): ServeInput | 'off' {
  const t = assigned.treatment;
  const experiment = { id: assigned.id, variant: assigned.variant };
  if (t.kind === 'surface' && !t.enabled) return 'off';
  if (t.kind === 'rules') return { ...input, experiment, ruleSet: t.ruleSetId };
  const overrides = t.overrides?.[surface];
  if (!overrides) return { ...input, experiment };
  return { ...input, experiment, overrides: { ...input.overrides, ...overrides } as ServeInput['overrides'] };
}
