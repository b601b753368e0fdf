import type { Outputs } from './api';

export type StoredRule = Outputs['admin']['rules']['list'][number];
type Definition = StoredRule['definition'];

/** Which items a rule matches, in words. */
function describeItems(items: Definition['items']): string {
  const parts: string[] = [];
  if (items.itemIds?.length) parts.push(`items ${items.itemIds.join(', ')}`);
  if (items.tags?.length) parts.push(`tagged ${items.tags.join(' or ')}`);
  if (items.priceMin !== undefined) parts.push(`price ≥ ${items.priceMin}`);
  if (items.priceMax !== undefined) parts.push(`price ≤ ${items.priceMax}`);
  if (items.available !== undefined) parts.push(items.available ? 'in stock' : 'out of stock');
  if (items.createdAfter) parts.push(`new since ${items.createdAfter}`);
  return parts.length ? parts.join(', ') : 'every item';
}

/** A rule in one sentence: "Pin items sku-1 at slot 1 on trending". */
export function describeRule(d: Definition): string {
  const what = describeItems(d.items);
  let text: string;
  switch (d.kind) {
    case 'pin':
      text = `Pin ${what} at slot ${d.slot + 1}`;
      break;
    case 'inject':
      text = `Add ${d.count ?? 1} of ${what}${d.slot !== undefined ? ` from slot ${d.slot + 1}` : ' at the end'}`;
      break;
    case 'boost':
      text = `Boost ${what} ×${d.multiplier ?? 1}${d.add ? ` +${d.add}` : ''}`;
      break;
    case 'bury':
      text = `Bury ${what} ×${d.multiplier ?? 1}${d.subtract ? ` −${d.subtract}` : ''}`;
      break;
    case 'block':
      text = `Never show ${what}`;
      break;
    case 'filter':
      text = `Show only ${what}`;
      break;
  }
  const where = [...(d.when?.surfaces ?? []), ...(d.when?.placements ?? [])];
  if (where.length) text += ` on ${where.join(', ')}`;
  if (d.schedule?.start || d.schedule?.end)
    text += ` (${d.schedule.start ? `from ${d.schedule.start}` : ''}${d.schedule.end ? ` until ${d.schedule.end}` : ''}${d.schedule.timeZone ? ` ${d.schedule.timeZone}` : ''})`;
  return text;
}
