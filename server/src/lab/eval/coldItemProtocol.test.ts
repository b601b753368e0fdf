import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { mulberry32 } from '@recsys/engine/random';
import type { FixtureEvent, FixtureItem } from '@recsys/fixtures';
import { afterAll, describe, expect, it } from 'vitest';
import { formatColdItemReport, runColdItemProtocol } from './coldItemProtocol';
import { defaultDataDir, type EvalDataset, loadEvalDataset } from './dataset';

const DAY = 86_400_000;
const START = Date.parse('2024-01-01T00:00:00Z');
const CUT = '2024-03-01T00:00:00.000Z';
const PAIRS: Array<[string, string]> = [
  ['kettle', 'teabag'],
  ['candle', 'matchbox'],
  ['vase', 'tulip'],
  ['notebook', 'pencil'],
];
const FINISHES = ['red', 'blue', 'green', 'ivory', 'copper', 'striped', 'dotted', 'matte'];

/**
 * A shop where each kind is bought with one other kind whose names share no word with it. After the
 * cut, a "shiny" finish of every kind appears and sells with the old finishes of its complement.
 */
function syntheticShop(): { items: FixtureItem[]; events: FixtureEvent[] } {
  const items: FixtureItem[] = [];
  const item = (id: string, title: string, createdAt: number): FixtureItem => ({
    itemId: id,
    title,
    tags: [],
    available: true,
    archived: false,
    props: {},
    createdAt: new Date(createdAt).toISOString(),
  });
  for (const [a, b] of PAIRS) {
    for (const f of FINISHES)
      items.push(item(`${a}-${f}`, `${f} ${a}`, START), item(`${b}-${f}`, `${f} ${b}`, START));
    items.push(
      item(`${a}-shiny`, `shiny ${a}`, Date.parse(CUT)),
      item(`${b}-shiny`, `shiny ${b}`, Date.parse(CUT)),
    );
  }
  const random = mulberry32(11);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  const events: FixtureEvent[] = [];
  const order = (n: number, ts: number, ids: string[]) => {
    ids.forEach((itemId, i) => {
      events.push({
        eventId: `o${n}-${i}`,
        type: 'purchase',
        itemId,
        userId: `u${n % 37}`,
        sessionId: `s${n}`,
        ts: new Date(ts).toISOString(),
        value: 1,
        meta: { orderId: `o${n}` },
      });
    });
  };
  for (let n = 0; n < 900; n++) {
    const ts = START + Math.floor((n / 900) * 80 * DAY);
    const [a, b] = pick(PAIRS);
    const after = ts >= Date.parse(CUT);
    // Popularity alone cannot win: every pair of kinds sells about as often.
    const left = after && random() < 0.5 ? `${a}-shiny` : `${a}-${pick(FINISHES)}`;
    const right = after && !left.endsWith('shiny') ? `${b}-shiny` : `${b}-${pick(FINISHES)}`;
    order(n, ts, [left, right]);
  }
  return { items, events };
}

function syntheticDataset(): EvalDataset {
  const { items, events } = syntheticShop();
  const cut = Date.parse(CUT);
  return {
    name: 'synthetic complements',
    items,
    users: [],
    train: events.filter((e) => Date.parse(e.ts) < cut),
    test: events.filter((e) => Date.parse(e.ts) >= cut),
    cutMs: cut,
  };
}

describe('cold-item protocol', () => {
  it("scores the learned encoder's complements above the raw encoder's look-alikes on a synthetic shop", async () => {
    const report = await runColdItemProtocol(syntheticDataset(), { k: [4, 8] });
    const share = (method: string) => report.rows.find((r) => r.method === method)!.share.get(8)!;
    expect(report.coldItems).toBe(8);
    // The raw encoder's 8 nearest old items of "shiny kettle" are the 8 other kettles: never a partner.
    expect(share('text encoder (look-alikes)')).toBe(0);
    // The learned encoder's 8 are the 8 teabags: every later co-purchase.
    expect(share('learned encoder')).toBe(1);
    expect(share('popularity')).toBeLessThan(0.5);
    expect(formatColdItemReport(report, [4, 8])).toMatch(/^learned encoder\s+\d\.\d{4}\s+\d+\.\d{2}/m);
  });
});

describe('recsys eval -p cold-items', () => {
  const dir = mkdtempSync(join(tmpdir(), 'encoder-cold-items-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('prints each method’s share and its ratio to popularity from a fixture file', async () => {
    const file = join(dir, 'shop.json');
    const { items, events } = syntheticShop();
    writeFileSync(file, JSON.stringify({ items, users: [], events }));
    const bin = fileURLToPath(new URL('../../../bin/recsys.js', import.meta.url));
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [bin, 'eval', '-s', 'files', '--file', file, '--cut', CUT, '-p', 'cold-items', '-k', '8', '--json'],
      { env: { ...process.env, DATABASE_URL: '', RECSYS_DATA_DIR: join(dir, 'db') }, maxBuffer: 1 << 24 },
    );
    const report = JSON.parse(stdout) as { rows: Array<{ method: string; share: Record<string, number> }> };
    expect(report.rows.map((r) => r.method)).toEqual([
      'popularity',
      'text encoder (look-alikes)',
      'learned encoder',
    ]);
    expect(report.rows.find((r) => r.method === 'learned encoder')!.share['8']).toBe(1);
  });
});

const retail = resolve(defaultDataDir, 'online-retail/online-retail-2010-12-to-2011-08.csv.gz');
const present = existsSync(retail);
if (!present) console.info(`skipping the Online Retail cold-item figures: ${retail} not found`);

/**
 * Online Retail, trained before London midnight 2011-07-01 (ridge tuned on June), reported on items
 * first sold in July and August. The floors hold what the README prints: the raw text encoder near
 * half of popularity, the learned encoder above popularity (2 × popularity is not reached).
 */
describe.skipIf(!present)('cold-item protocol on Online Retail (later period)', () => {
  it('puts the learned encoder above popularity and the raw text encoder near half of it', async () => {
    const dataset = await loadEvalDataset({ source: 'online-retail', cut: '2011-06-30T23:00:00Z' });
    const report = await runColdItemProtocol(dataset, { k: [10, 20, 50] });
    console.info(formatColdItemReport(report, [10, 20, 50]));
    const ratio = (method: string) => report.rows.find((r) => r.method === method)!.ratio.get(50)!;
    expect(ratio('text encoder (look-alikes)')).toBeLessThan(0.6);
    expect(ratio('learned encoder')).toBeGreaterThan(1);
  });
});
