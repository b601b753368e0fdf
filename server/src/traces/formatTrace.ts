import type { StoredTrace } from './storedTrace';

const num = (n: number) => String(Number(n.toFixed(4)));
const short = (hash: string) => `${hash.slice(0, 12)}…`;

/** What the request asked for, in one line. */
function describeRequest(t: StoredTrace): string {
  const r = t.request;
  const parts: string[] = [];
  if (r.itemId !== undefined) parts.push(`item ${r.itemId}`);
  if (r.itemIds !== undefined) parts.push(`cart ${r.itemIds.join(', ')}`);
  if (r.category !== undefined) parts.push(`category ${r.category}`);
  parts.push(`k=${r.k}`);
  const f = r.filters;
  if (f?.priceBetween) {
    const [min, max] = f.priceBetween;
    parts.push(`price ${min ?? '…'}–${max ?? '…'}`);
  }
  if (f?.includeTagsAny) parts.push(`only tags ${f.includeTagsAny.join('|')}`);
  if (f?.excludeTagsAny) parts.push(`no tags ${f.excludeTagsAny.join('|')}`);
  if (f?.excludeIds) parts.push(`excluding ${f.excludeIds.join(', ')}`);
  if (r.contextItemIds) parts.push(`session items ${r.contextItemIds.join(', ')}`);
  if (r.traits)
    parts.push(
      `traits ${Object.entries(r.traits)
        .map(([k, v]) => `${k}=${v}`)
        .join(' ')}`,
    );
  if (r.seed !== undefined) parts.push(`seed ${r.seed}`);
  if (r.overrides) parts.push(`overrides ${JSON.stringify(r.overrides)}`);
  if (r.explain) parts.push('explain');
  return parts.join(', ');
}

/** A served bundle's trace: what was served, and the experiment variant's override when one fixed it. */
function formatBundleTrace(t: StoredTrace): string {
  const b = t.bundle;
  const out = [
    `Request ${t.requestId}, served ${t.createdAt} on recs.bundle${t.request.placement !== undefined ? ` (${t.request.placement})` : ''}`,
    `  asked for: ${describeRequest(t)}`,
    `  for: ${describeWho(t)}`,
    `  config version: ${t.configVersion ?? 'engine defaults'}; experiment: ${t.experiment ? `${t.experiment} / ${t.variant ?? '?'}` : 'none'}`,
  ];
  const o = b?.override;
  out.push(
    o
      ? `  bundle fixed by the variant: ${o.partnerItemIds.join(', ')}${o.discountPercent !== undefined ? `, ${o.discountPercent}% off` : ''}`
      : '  bundle computed from what is bought together',
    '',
    'Bundle',
  );
  if (!b || b.items.length === 0) out.push(`  empty${b?.emptyReason ? ` (${b.emptyReason})` : ''}`);
  for (const [i, item] of (b?.items ?? []).entries())
    out.push(`  ${i + 1}. ${item.itemId} (${item.role}, ${item.reason.signal}): ${item.reason.text}`);
  if (b?.price)
    out.push(
      `  price: ${b.price.total} ${b.price.currency ?? ''}${b.price.bundlePrice !== null ? `, bundle price ${b.price.bundlePrice} (${b.price.discountPercent}% off)` : ''}`,
    );
  return out.join('\n');
}

function describeWho(t: StoredTrace): string {
  const who: string[] = [];
  if (t.userHash) who.push(`user #${short(t.userHash)}`);
  if (t.anonymousHash) who.push(`visitor #${short(t.anonymousHash)}`);
  if (!t.request.identity.userProven)
    who.push('(a userId without a valid user token: served as the visitor)');
  return who.length ? `${who.join(', ')} (ids stored as salted hashes)` : 'nobody identified';
}

/**
 * A stored trace as a person reads it: the request, the configuration and rules, what each signal
 * proposed, what was removed and why, and the final list with each item's score and reasons.
 */
export function formatTrace(t: StoredTrace): string {
  const e = t.engine;
  if (e === null) return formatBundleTrace(t);
  const out: string[] = [];
  const where =
    t.request.placement !== undefined ? `${t.surface} (recs.${t.request.surface})` : `recs.${t.surface}`;
  out.push(`Request ${t.requestId}, served ${t.createdAt} on ${where}`);
  out.push(`  asked for: ${describeRequest(t)}`);
  out.push(`  for: ${describeWho(t)}`);
  out.push(
    `  config version: ${t.configVersion ?? 'engine defaults'}; experiment: ${t.experiment ? `${t.experiment} / ${t.variant ?? '?'}` : 'none'}${t.ruleSet ? `; rule set: ${t.ruleSet} (besides the base rules)` : ''}`,
  );
  if (e.anchors.length)
    out.push(
      `  built around: ${e.anchors.map((a) => `${a.itemId} ${a.title} (weight ${num(a.weight)})`).join(', ')}`,
    );

  out.push('', 'Rules');
  if (t.rules.length === 0) out.push('  none matched');
  for (const r of t.rules) out.push(`  ${r.ruleId} (${r.kind}): ${r.effect} — ${r.itemIds.join(', ')}`);

  out.push('', 'What each signal proposed (raw scores; each is divided by the normaliser, then weighted)');
  if (e.signals.length === 0) out.push('  no signal ran');
  for (const s of e.signals) {
    const role = s.generates ? 'proposes' : 're-scores only';
    out.push(
      `  ${s.signal}: weight ${num(s.weight)}, ${role}, ${s.proposed} candidate${s.proposed === 1 ? '' : 's'}, normaliser ${num(s.normalizer)}`,
    );
    if (s.top.length) out.push(`    top: ${s.top.map((c) => `${c.itemId} ${num(c.score)}`).join(', ')}`);
  }
  out.push(`  ${e.candidates} candidates after blending`);

  const total = Object.values(e.removedCounts).reduce((a, b) => a + (b ?? 0), 0);
  out.push('', `Removed (${total})`);
  if (total === 0) out.push('  nothing');
  for (const r of e.removed) out.push(`  ${r.itemId}: ${r.detail} [${r.step}: ${r.reason}]`);
  if (total > e.removed.length) out.push(`  … and ${total - e.removed.length} more`);

  const lambda = e.settings.diversity.lambda;
  out.push(
    '',
    lambda < 1
      ? `Final list (in the order variety chose: MMR with diversity.lambda ${lambda}, so a lower score may rank higher)`
      : 'Final list (by score)',
  );
  if (e.items.length === 0) out.push('  empty');
  for (const item of e.items) {
    const parts =
      item.source === 'ranked'
        ? item.contributions.map((c) => `${c.signal} ${num(c.part)}`).join(' + ') +
          (item.jitter !== 0 ? ` + seed jitter ${num(item.jitter)}` : '')
        : `fallback (${item.source})`;
    out.push(`  ${item.rank}. ${item.itemId} ${item.title}`);
    out.push(`     score ${num(item.score)} = ${parts}`);
    if (item.reasons.length) out.push(`     why: ${item.reasons.map((r) => r.text).join('; ')}`);
  }
  if (e.fallback.used)
    out.push(
      `  (${e.fallback.filled} filled from ${e.fallback.sources.join(', ')}: the signals found too few)`,
    );
  return out.join('\n');
}
