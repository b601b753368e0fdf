import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FixtureEvent, FixtureItem } from '@recsys/fixtures';
import type { EvalDataset } from './dataset';

/** The folder of session-rec's RSC15 100k sample, below the data root. */
export const RSC15_FOLDER = 'rsc15-sample';
const TRAIN_FILE = 'yoochoose-clicks-100k_train_tr.txt';
const VALID_FILE = 'yoochoose-clicks-100k_train_valid.txt';
const DAY = 86_400_000;

/** One click of the RSC15 files. */
interface Click {
  session: string;
  item: string;
  ts: number;
}

/** The RSC15 sample folder under `dataDir` (or `dataDir` itself), or undefined when absent. */
export function findRsc15Dir(dataDir: string): string | undefined {
  for (const dir of [join(dataDir, RSC15_FOLDER), dataDir]) {
    if (existsSync(join(dir, TRAIN_FILE)) && existsSync(join(dir, VALID_FILE))) return dir;
  }
  return undefined;
}

function parseClicks(text: string, file: string): Click[] {
  const out: Click[] = [];
  const lines = text.split('\n');
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '') continue;
    const [session, item, time] = line.split('\t');
    const ts = Math.round(Number(time) * 1000);
    if (session === undefined || item === undefined || !Number.isFinite(ts)) {
      throw new Error(
        `${file}:${i + 1}: expected 'SessionId<TAB>ItemId<TAB>Time', got ${JSON.stringify(line)}.`,
      );
    }
    out.push({ session, item, ts });
  }
  return out;
}

/**
 * Session-rec's split of a click log: the sessions that END within the last `days` go to test, the
 * rest to train. A test session may start before the cut (its earlier clicks are still only a
 * prefix); every train click is before the cut.
 */
function splitLastDays(clicks: Click[], days: number): { train: Click[]; test: Click[] } {
  const end = new Map<string, number>();
  let max = Number.NEGATIVE_INFINITY;
  for (const c of clicks) {
    end.set(c.session, Math.max(end.get(c.session) ?? Number.NEGATIVE_INFINITY, c.ts));
    max = Math.max(max, c.ts);
  }
  const cut = max - days * DAY;
  const train: Click[] = [];
  const test: Click[] = [];
  for (const c of clicks) (end.get(c.session)! < cut ? train : test).push(c);
  return { train, test };
}

function toEvents(clicks: Click[], prefix: string): FixtureEvent[] {
  return clicks.map((c, i) => ({
    eventId: `${prefix}${i}`,
    type: 'view',
    itemId: c.item,
    anonymousId: `s${c.session}`,
    sessionId: c.session,
    ts: new Date(c.ts).toISOString(),
  }));
}

/**
 * Loads session-rec's RSC15 100k sample for the next-item protocol. `valid`: train on the training
 * part, test on the validation day (the figures to report). `dev`: the training part alone, its last
 * day held out as test (session-rec's split again) — tune there, never on the validation day.
 * Every click is a `view` of an anonymous visitor whose id is the session; the catalog is every
 * item of the train half, without text or tags.
 *
 * @example const ds = await loadRsc15(join(defaultDataDir, 'rsc15-sample'), 'valid');
 */
export async function loadRsc15(dir: string, split: 'valid' | 'dev'): Promise<EvalDataset> {
  const found = findRsc15Dir(dir);
  if (found === undefined) {
    throw new Error(
      `RSC15 sample not found in ${dir}: expected ${TRAIN_FILE} and ${VALID_FILE} (in ${RSC15_FOLDER}/ or the folder itself). Pass --datasets <dir>.`,
    );
  }
  const trainPart = parseClicks(await readFile(join(found, TRAIN_FILE), 'utf8'), TRAIN_FILE);
  let train: Click[];
  let test: Click[];
  if (split === 'valid') {
    train = trainPart;
    test = parseClicks(await readFile(join(found, VALID_FILE), 'utf8'), VALID_FILE);
  } else {
    ({ train, test } = splitLastDays(trainPart, 1));
  }
  let last = Number.NEGATIVE_INFINITY;
  for (const c of train) last = Math.max(last, c.ts);
  const itemIds = [...new Set(train.map((c) => c.item))].sort();
  const items: FixtureItem[] = itemIds.map((itemId) => ({
    itemId,
    title: `item ${itemId}`,
    available: true,
    archived: false,
    tags: [],
    props: {},
  }));
  return {
    name: split === 'valid' ? 'rsc15' : 'rsc15-dev',
    items,
    users: [],
    train: toEvents(train, 'tr'),
    test: toEvents(test, 'te'),
    cutMs: last + 1,
    splitBy: 'session',
  };
}
