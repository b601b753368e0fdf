import { TableWrap } from './ui';

/** One line of a chart: a value per bucket; null where it is undefined (a rate of nothing). */
export interface Series {
  name: string;
  values: ReadonlyArray<number | null>;
}

const W = 600;
const H = 160;

/** A bucket's start as a short local time (with the day when the range spans days). */
export function bucketLabel(iso: string, withDay: boolean): string {
  return new Date(iso).toLocaleString(undefined, {
    ...(withDay ? { month: 'short', day: 'numeric' } : {}),
    hour: '2-digit',
    minute: '2-digit',
  });
}

/** The path of one series, broken where a value is null. */
function pathOf(values: ReadonlyArray<number | null>, top: number): string {
  const step = values.length > 1 ? W / (values.length - 1) : 0;
  let d = '';
  values.forEach((v, i) => {
    if (v === null) return;
    const alone = values[i - 1] == null;
    // A value with none before it starts a segment; one alone is drawn as a dot (round cap).
    d += `${alone ? 'M' : 'L'}${(i * step).toFixed(1)} ${(H - (v / top) * H).toFixed(1)}`;
    if (alone && values[i + 1] == null) d += 'h0';
  });
  return d;
}

/**
 * A small line chart drawn as SVG: named by its title, described in words (each line's peak and
 * latest value) for screen readers, with the numbers in a table behind a disclosure. Lines differ
 * by dash pattern as well as colour.
 */
export function LineChart(props: {
  id: string;
  title: string;
  buckets: readonly string[];
  withDay: boolean;
  series: readonly Series[];
  format(value: number): string;
  /** A bucket's name when it is not a local time (UTC days are named as they are). */
  labelOf?: (bucket: string) => string;
}) {
  const { id, buckets, series, format } = props;
  const label = (i: number) => props.labelOf?.(buckets[i]!) ?? bucketLabel(buckets[i]!, props.withDay);
  const max = Math.max(0, ...series.flatMap((s) => s.values.filter((v): v is number => v !== null)));
  const top = max > 0 ? max : 1;
  const describe = (s: Series) => {
    let peak = -1;
    s.values.forEach((v, i) => {
      if (v !== null && (peak < 0 || v > s.values[peak]!)) peak = i;
    });
    if (peak < 0) return `${s.name}: none`;
    const latest = s.values.findLastIndex((v) => v !== null);
    return `${s.name}: peak ${format(s.values[peak]!)} at ${label(peak)}, latest ${format(s.values[latest]!)}`;
  };
  const description = `From ${label(0)} to ${label(buckets.length - 1)}. ${series.map(describe).join('; ')}.`;
  return (
    <figure class="chart card" aria-labelledby={`${id}-h`}>
      <h2 id={`${id}-h`}>{props.title}</h2>
      <div class="plot">
        <span class="ymax" aria-hidden="true">
          {format(max)}
        </span>
        <svg
          role="img"
          aria-labelledby={`${id}-t ${id}-d`}
          viewBox={`0 0 ${W} ${H}`}
          preserveAspectRatio="none"
          focusable="false"
        >
          <title id={`${id}-t`}>{props.title}</title>
          <desc id={`${id}-d`}>{description}</desc>
          <path class="grid" d={`M0 ${H}H${W}M0 ${H / 2}H${W}M0 0H${W}`} vector-effect="non-scaling-stroke" />
          {series.map((s, k) => (
            <path
              key={s.name}
              class={`line s${k}`}
              d={pathOf(s.values, top)}
              vector-effect="non-scaling-stroke"
            />
          ))}
        </svg>
        <div class="xaxis" aria-hidden="true">
          <span>{label(0)}</span>
          <span>{label(buckets.length - 1)}</span>
        </div>
      </div>
      <ul class="legend">
        {series.map((s, k) => (
          <li key={s.name}>
            <svg class={`key s${k}`} viewBox="0 0 24 8" aria-hidden="true" focusable="false">
              <path class="line" d="M0 4H24" />
            </svg>
            {s.name}
          </li>
        ))}
      </ul>
      <details>
        <summary>
          Numbers<span class="sr-only"> of {props.title}</span>
        </summary>
        <TableWrap>
          <table>
            <caption class="sr-only">{props.title}</caption>
            <thead>
              <tr>
                <th scope="col">From</th>
                {series.map((s) => (
                  <th scope="col" key={s.name}>
                    {s.name}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {buckets.map((b, i) => (
                <tr key={b}>
                  <th scope="row">{label(i)}</th>
                  {series.map((s) => {
                    const v = s.values[i];
                    return <td key={s.name}>{v === null || v === undefined ? '—' : format(v)}</td>;
                  })}
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
      </details>
    </figure>
  );
}
