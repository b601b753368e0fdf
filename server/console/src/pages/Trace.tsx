import { type Outputs, trpc } from '../api';
import { BASE } from '../router';
import { DataTable, Empty, ErrorBox, Loading, Page, useAsync, When } from '../ui';

type Trace = Outputs['admin']['traces']['get'];
const num = (n: number) => String(Number(n.toFixed(3)));

function Asked(props: { trace: Trace }) {
  const r = props.trace.request;
  const parts: string[] = [];
  if (r.itemId) parts.push(`similar to ${r.itemId}`);
  if (r.itemIds) parts.push(`for a cart of ${r.itemIds.join(', ')}`);
  if (r.category) parts.push(`in category ${r.category}`);
  parts.push(`${r.k} items`);
  if (r.filters?.excludeIds?.length) parts.push(`excluding ${r.filters.excludeIds.join(', ')}`);
  const who = [r.identity.user ? 'a signed-in user' : null, r.identity.anonymous ? 'a visitor' : null].filter(
    Boolean,
  );
  return (
    <p>
      Asked for {parts.join(', ')}, for {who.join(' and ') || 'nobody identified'}
      {r.identity.user && !r.identity.userProven
        ? ' (the userId had no valid user token, so it was served as the visitor)'
        : ''}
      .
    </p>
  );
}

/**
 * One served list explained: what was asked, which rules acted, why each item is there (its
 * reasons and score parts), what was removed and why. Reads like the CLI's `recsys traces show`.
 */
export function TracePage(props: { requestId: string }) {
  const trace = useAsync(
    () => trpc.admin.traces.get.query({ requestId: props.requestId }),
    [props.requestId],
  );
  const back = (
    <p>
      <a href={`${BASE}/traces`}>← Search traces</a>
    </p>
  );
  if (trace.status === 'loading')
    return (
      <Page title={`Trace ${props.requestId}`}>
        {back}
        <Loading what="the trace" />
      </Page>
    );
  if (trace.status === 'error')
    return (
      <Page title={`Trace ${props.requestId}`}>
        {back}
        {trace.notFound ? (
          <Empty>{trace.message}</Empty>
        ) : (
          <ErrorBox message={trace.message} retry={trace.reload} />
        )}
      </Page>
    );
  const t = trace.data;
  const e = t.engine;
  if (e === null) {
    // A served bundle: what was served and where it came from (`recsys why` prints the same).
    const b = t.bundle;
    return (
      <Page title="Why this bundle">
        {back}
        <p>
          Request <code>{t.requestId}</code>, served <When at={t.createdAt} /> on <strong>recs.bundle</strong>
          {t.experiment ? `, experiment ${t.experiment}, variant ${t.variant ?? '?'}` : ''}.
        </p>
        {b?.override && (
          <p>
            Fixed by the variant: {b.override.partnerItemIds.join(', ')}
            {b.override.discountPercent !== undefined ? `, ${b.override.discountPercent}% off` : ''}.
          </p>
        )}
        <ul>
          {(b?.items ?? []).map((i) => (
            <li key={i.itemId}>
              <code>{i.itemId}</code> ({i.role}): {i.reason.text}
            </li>
          ))}
        </ul>
      </Page>
    );
  }
  const removedTotal = Object.values(e.removedCounts).reduce((a, b) => a + (b ?? 0), 0);
  return (
    <Page title={`Why this ${t.surface} list`}>
      {back}
      <section class="card explain" aria-label="The request">
        <p>
          Request <code>{t.requestId}</code>, served <When at={t.createdAt} /> on <strong>{t.surface}</strong>
          {t.request.placement ? ` (recs.${t.request.surface})` : ''}.
        </p>
        <Asked trace={t} />
        <p>
          {`Configuration ${t.configVersion === null ? 'engine defaults' : `version ${t.configVersion}`}; experiment `}
          {t.experiment ? (
            <>
              <a href={`${BASE}/experiments/${encodeURIComponent(t.experiment)}`}>{t.experiment}</a>, variant{' '}
              <strong>{t.variant ?? '?'}</strong>
            </>
          ) : (
            'none'
          )}
          .
        </p>
        {e.anchors.length > 0 && (
          <p>Built around {e.anchors.map((a) => `${a.title || a.itemId} (${a.itemId})`).join(', ')}.</p>
        )}
      </section>

      <h2>Rules</h2>
      {t.rules.length === 0 ? (
        <p>No rule matched this list.</p>
      ) : (
        <ul class="effects">
          {t.rules.map((r) => (
            <li key={r.ruleId + r.effect}>
              <strong>{r.effect}</strong> — rule <code>{r.ruleId}</code> ({r.kind})
            </li>
          ))}
        </ul>
      )}

      <h2>The list, and why each item is in it</h2>
      {e.items.length === 0 ? (
        <Empty>The list was empty.</Empty>
      ) : (
        <ol class="final">
          {e.items.map((item) => (
            <li key={item.itemId} data-item={item.itemId}>
              <div>
                <strong>{item.title || item.itemId}</strong> <code>{item.itemId}</code>
              </div>
              {item.reasons.length > 0 && <div>Why: {item.reasons.map((r) => r.text).join('; ')}.</div>}
              <div class="sub">
                {item.source === 'ranked'
                  ? `Score ${num(item.score)} = ${item.contributions.map((c) => `${c.signal} ${num(c.part)}`).join(' + ') || '0'}${item.jitter ? ` + seed jitter ${num(item.jitter)}` : ''}`
                  : `Filled in by the fallback (${item.source}): the signals found too few.`}
              </div>
            </li>
          ))}
        </ol>
      )}

      <h2>Removed ({removedTotal})</h2>
      {removedTotal === 0 ? (
        <p>Nothing was removed.</p>
      ) : (
        <ul>
          {e.removed.map((r) => (
            <li key={r.itemId}>
              <code>{r.itemId}</code>: {r.detail}{' '}
              <span class="sub">
                ({r.step}: {r.reason})
              </span>
            </li>
          ))}
          {removedTotal > e.removed.length && <li>… and {removedTotal - e.removed.length} more</li>}
        </ul>
      )}

      <h2>What each signal proposed</h2>
      {e.signals.length === 0 ? (
        <p>No signal ran.</p>
      ) : (
        <DataTable caption="Signals" hiddenCaption columns={['Signal', 'Weight', 'Candidates', 'Top']}>
          {e.signals.map((s) => (
            <tr key={s.signal}>
              <th scope="row">{s.signal}</th>
              <td>{num(s.weight)}</td>
              <td>
                {s.proposed}
                {s.generates ? '' : ' (re-scores only)'}
              </td>
              <td class="ids">{s.top.map((c) => `${c.itemId} ${num(c.score)}`).join(', ')}</td>
            </tr>
          ))}
        </DataTable>
      )}
      <p class="sub">
        {e.candidates} candidates after blending
        {e.fallback.used ? `; ${e.fallback.filled} filled from ${e.fallback.sources.join(', ')}` : ''}.
      </p>
    </Page>
  );
}
