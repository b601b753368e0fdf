/**
 * Small inline-SVG charts for the simulation report. Generated as strings so
 * the report is one self-contained file: nothing is fetched when it opens.
 */

export interface Series {
  name: string;
  points: Array<{ x: number; y: number }>;
}

const W = 560;
const H = 300;
const PAD = { left: 56, right: 150, top: 20, bottom: 40 };
const COLORS = [
  '#2563eb',
  '#dc2626',
  '#16a34a',
  '#9333ea',
  '#ea580c',
  '#0891b2',
  '#4b5563',
  '#db2777',
  '#65a30d',
  '#7c3aed',
  '#0d9488',
  '#b45309',
];

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const n = (v: number) => (Math.round(v * 100) / 100).toString();

function niceMax(value: number): number {
  if (!(value > 0)) return 1;
  const exp = 10 ** Math.floor(Math.log10(value));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * exp >= value) return m * exp;
  return 10 * exp;
}

function frame(
  id: string,
  title: string,
  body: string,
  yMax: number,
  xLabels: string,
  xTitle: string,
  yTitle: string,
) {
  const plotH = H - PAD.top - PAD.bottom;
  const ticks = [0, 0.25, 0.5, 0.75, 1]
    .map((f) => {
      const y = PAD.top + plotH * (1 - f);
      return `<line x1="${PAD.left}" x2="${W - PAD.right}" y1="${n(y)}" y2="${n(y)}" stroke="#e5e7eb"/><text x="${PAD.left - 6}" y="${n(y + 4)}" text-anchor="end" font-size="11">${formatTick(yMax * f)}</text>`;
    })
    .join('');
  return `<figure class="chart-figure"><figcaption>${escapeHtml(title)}</figcaption><svg class="chart" data-chart="${id}" role="img" aria-label="${escapeHtml(title)}" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" xmlns="http://www.w3.org/2000/svg" font-family="system-ui, sans-serif">${ticks}<line x1="${PAD.left}" x2="${W - PAD.right}" y1="${H - PAD.bottom}" y2="${H - PAD.bottom}" stroke="#111827"/>${xLabels}<text x="${(PAD.left + W - PAD.right) / 2}" y="${H - 6}" text-anchor="middle" font-size="12">${escapeHtml(xTitle)}</text><text transform="translate(14 ${PAD.top + plotH / 2}) rotate(-90)" text-anchor="middle" font-size="12">${escapeHtml(yTitle)}</text>${body}</svg></figure>`;
}

function formatTick(v: number): string {
  return Math.abs(v) >= 10 ? v.toFixed(0) : Math.abs(v) >= 1 ? v.toFixed(1) : v.toFixed(3);
}

function legend(names: string[]): string {
  return names
    .map(
      (name, i) =>
        `<rect x="${W - PAD.right + 12}" y="${PAD.top + i * 16}" width="10" height="10" fill="${COLORS[i % COLORS.length]}"/><text x="${W - PAD.right + 26}" y="${PAD.top + i * 16 + 9}" font-size="11">${escapeHtml(name)}</text>`,
    )
    .join('');
}

function empty(id: string, title: string, why: string): string {
  return `<figure class="chart-figure"><figcaption>${escapeHtml(title)}</figcaption><p class="chart-empty" data-chart="${id}">${escapeHtml(why)}</p></figure>`;
}

/** Lines over discrete x values (e.g. a metric at K = 5, 10, 20 per method). */
export function lineChart(
  id: string,
  title: string,
  series: Series[],
  xTitle: string,
  yTitle: string,
): string {
  const xs = [...new Set(series.flatMap((s) => s.points.map((p) => p.x)))].sort((a, b) => a - b);
  if (xs.length === 0) return empty(id, title, 'no data');
  const yMax = niceMax(Math.max(...series.flatMap((s) => s.points.map((p) => p.y))));
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const xAt = (x: number) =>
    PAD.left + (xs.length === 1 ? plotW / 2 : (xs.indexOf(x) / (xs.length - 1)) * plotW);
  const yAt = (y: number) => PAD.top + plotH * (1 - y / yMax);
  const xLabels = xs
    .map(
      (x) =>
        `<text x="${n(xAt(x))}" y="${H - PAD.bottom + 16}" text-anchor="middle" font-size="11">${x}</text>`,
    )
    .join('');
  const body = series
    .map((s, i) => {
      const color = COLORS[i % COLORS.length];
      const pts = [...s.points].sort((a, b) => a.x - b.x);
      // A lone point still draws a visible stroke: a short horizontal tick.
      const d =
        pts.length === 1
          ? `M${n(xAt(pts[0]!.x) - 6)},${n(yAt(pts[0]!.y))}H${n(xAt(pts[0]!.x) + 6)}`
          : pts.map((p, j) => `${j ? 'L' : 'M'}${n(xAt(p.x))},${n(yAt(p.y))}`).join('');
      const dots = pts
        .map(
          (p) =>
            `<circle cx="${n(xAt(p.x))}" cy="${n(yAt(p.y))}" r="3" fill="${color}"><title>${escapeHtml(`${s.name} @${p.x}: ${p.y.toFixed(4)}`)}</title></circle>`,
        )
        .join('');
      return `<path class="series" data-series="${escapeHtml(s.name)}" d="${d}" fill="none" stroke="${color}" stroke-width="2"/>${dots}`;
    })
    .join('');
  return frame(id, title, body + legend(series.map((s) => s.name)), yMax, xLabels, xTitle, yTitle);
}

/** Vertical bars with a reference line (e.g. lift per segment, with 1.0 = baseline). */
export function barChart(
  id: string,
  title: string,
  bars: Array<{ label: string; value: number }>,
  yTitle: string,
  reference?: number,
): string {
  if (bars.length === 0) return empty(id, title, 'no data');
  const yMax = niceMax(Math.max(reference ?? 0, ...bars.map((b) => b.value)));
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const slot = plotW / bars.length;
  const barW = Math.max(4, slot * 0.6);
  const body = bars
    .map((b, i) => {
      const x = PAD.left + i * slot + (slot - barW) / 2;
      const h = Math.max(1, (Math.max(0, b.value) / yMax) * plotH);
      const y = PAD.top + plotH - h;
      const color = reference !== undefined && b.value < reference ? '#dc2626' : '#2563eb';
      return `<path class="bar" data-label="${escapeHtml(b.label)}" d="M${n(x)},${n(y)}h${n(barW)}v${n(h)}h${n(-barW)}Z" fill="${color}"><title>${escapeHtml(`${b.label}: ${b.value.toFixed(3)}`)}</title></path><text x="${n(x + barW / 2)}" y="${n(y - 4)}" text-anchor="middle" font-size="10">${b.value.toFixed(2)}</text>`;
    })
    .join('');
  const xLabels = bars
    .map(
      (b, i) =>
        `<text x="${n(PAD.left + i * slot + slot / 2)}" y="${H - PAD.bottom + 14}" text-anchor="middle" font-size="10">${escapeHtml(b.label.length > 14 ? `${b.label.slice(0, 13)}…` : b.label)}</text>`,
    )
    .join('');
  const ref =
    reference === undefined
      ? ''
      : `<path class="reference" d="M${PAD.left},${n(PAD.top + plotH * (1 - reference / yMax))}H${W - PAD.right}" stroke="#111827" stroke-dasharray="4 3"/>`;
  return frame(id, title, body + ref, yMax, xLabels, 'segment', yTitle);
}

/** Labelled points (e.g. coverage vs accuracy per method). */
export function scatterChart(
  id: string,
  title: string,
  points: Array<{ label: string; x: number; y: number }>,
  xTitle: string,
  yTitle: string,
): string {
  if (points.length === 0) return empty(id, title, 'no data');
  const xMax = niceMax(Math.max(...points.map((p) => p.x)));
  const yMax = niceMax(Math.max(...points.map((p) => p.y)));
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const xAt = (x: number) => PAD.left + (x / xMax) * plotW;
  const yAt = (y: number) => PAD.top + plotH * (1 - y / yMax);
  const body = points
    .map((p, i) => {
      const cx = xAt(p.x);
      const cy = yAt(p.y);
      // Points are drawn as paths (small diamonds) so they are measurable like the other marks.
      return `<path class="point" data-label="${escapeHtml(p.label)}" d="M${n(cx)},${n(cy - 6)}l6,6l-6,6l-6,-6Z" fill="${COLORS[i % COLORS.length]}"><title>${escapeHtml(`${p.label}: coverage ${p.x.toFixed(3)}, accuracy ${p.y.toFixed(4)}`)}</title></path>`;
    })
    .join('');
  const xLabels = [0, 0.5, 1]
    .map(
      (f) =>
        `<text x="${n(PAD.left + f * plotW)}" y="${H - PAD.bottom + 16}" text-anchor="middle" font-size="11">${formatTick(xMax * f)}</text>`,
    )
    .join('');
  return frame(id, title, body + legend(points.map((p) => p.label)), yMax, xLabels, xTitle, yTitle);
}
