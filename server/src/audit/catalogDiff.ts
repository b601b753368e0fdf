import { eq } from 'drizzle-orm';
import type { Database } from '../db/client';
import { items } from '../db/schema';
import type { CatalogField, CatalogFile } from './readCatalogFile';

/** One way the shop's file and what Recsys holds disagree. */
export type CatalogMismatch =
  | { kind: 'missing-in-recsys'; itemId: string; at: string }
  | { kind: 'missing-in-file'; itemId: string }
  | {
      kind: 'field';
      itemId: string;
      at: string;
      field: CatalogField;
      file: string | number | boolean | null;
      recsys: string | number | boolean | null;
    }
  | { kind: 'unreadable'; itemId?: string; at: string; message: string };

export interface CatalogDiff {
  namespaceId: string;
  /** Items in the file, and items Recsys holds (archived ones included). */
  fileItems: number;
  recsysItems: number;
  /** The fields compared: those the file carries. */
  fields: CatalogField[];
  counts: {
    missingInRecsys: number;
    missingInFile: number;
    /** Items with at least one differing field. */
    itemsDiffering: number;
    /** Differing fields, by field. */
    byField: Partial<Record<CatalogField, number>>;
    unreadable: number;
  };
  mismatches: CatalogMismatch[];
}

/**
 * Prices closer than this are equal: exports round to cents, and a float that went through a
 * spreadsheet is rarely the same binary number.
 */
const PRICE_TOLERANCE = 0.005;

/**
 * Compares a shop's catalog export with the items Recsys holds for a namespace. Items the file
 * lists that Recsys does not hold are missing in Recsys; live items Recsys holds that the file
 * does not list are missing in the file (archived ones are gone on purpose and are not); for items
 * in both, each field the file carries is compared as Recsys stores it.
 */
export async function diffCatalog(
  database: Database,
  namespaceId: string,
  file: CatalogFile,
): Promise<CatalogDiff> {
  const stored = await database.db
    .select({
      itemId: items.itemId,
      title: items.title,
      price: items.price,
      currency: items.currency,
      available: items.available,
      tags: items.tags,
      archivedAt: items.archivedAt,
    })
    .from(items)
    .where(eq(items.namespaceId, namespaceId))
    .orderBy(items.itemId);
  const byId = new Map(stored.map((row) => [row.itemId, row]));
  const mismatches: CatalogMismatch[] = [];
  const counts: CatalogDiff['counts'] = {
    missingInRecsys: 0,
    missingInFile: 0,
    itemsDiffering: 0,
    byField: {},
    unreadable: file.problems.length,
  };
  const inFile = new Set<string>();
  for (const p of file.problems) {
    if (p.itemId) inFile.add(p.itemId);
    mismatches.push({
      kind: 'unreadable',
      ...(p.itemId ? { itemId: p.itemId } : {}),
      at: p.at,
      message: p.message,
    });
  }
  const inScope = (tag: string) =>
    file.tagScope === 'all' || file.tagScope.some((prefix) => tag.startsWith(prefix));

  for (const item of file.items) {
    inFile.add(item.itemId);
    const row = byId.get(item.itemId);
    if (!row) {
      // An item the shop itself marks archived is not expected in Recsys.
      if (item.archived === true) continue;
      counts.missingInRecsys++;
      mismatches.push({ kind: 'missing-in-recsys', itemId: item.itemId, at: item.at });
      continue;
    }
    const recsys: Record<CatalogField, string | number | boolean | null> = {
      title: row.title?.trim() ?? null,
      price: row.price,
      currency: row.currency,
      available: row.available,
      archived: row.archivedAt !== null,
      tags: row.tags.filter(inScope).sort().join('|'),
    };
    let differs = false;
    for (const field of file.fields) {
      if (item[field] === undefined) continue;
      const value = field === 'tags' ? (item.tags ?? []).join('|') : item[field];
      if (value === undefined || same(field, value, recsys[field])) continue;
      differs = true;
      counts.byField[field] = (counts.byField[field] ?? 0) + 1;
      mismatches.push({
        kind: 'field',
        itemId: item.itemId,
        at: item.at,
        field,
        file: value,
        recsys: recsys[field],
      });
    }
    if (differs) counts.itemsDiffering++;
  }
  for (const row of stored) {
    if (inFile.has(row.itemId) || row.archivedAt !== null) continue;
    counts.missingInFile++;
    mismatches.push({ kind: 'missing-in-file', itemId: row.itemId });
  }
  return {
    namespaceId,
    fileItems: file.items.length,
    recsysItems: stored.length,
    fields: file.fields,
    counts,
    mismatches,
  };
}

function same(field: CatalogField, file: unknown, recsys: unknown): boolean {
  if (field === 'price' && typeof file === 'number' && typeof recsys === 'number') {
    return Math.abs(file - recsys) < PRICE_TOLERANCE;
  }
  return (file ?? null) === (recsys ?? null);
}

/** Whether anything disagrees (what `--fail-on-diff` exits 1 on). */
export const hasMismatches = (diff: CatalogDiff) => diff.mismatches.length > 0;

const CSV_COLUMNS = ['kind', 'itemId', 'field', 'file', 'recsys', 'at', 'message'] as const;

/** The mismatches as CSV, one per line, for a spreadsheet or a ticket. */
export function mismatchesToCsv(mismatches: CatalogMismatch[]): string {
  const quote = (v: unknown) => {
    const s = v === undefined || v === null ? '' : String(v);
    return /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
  };
  const lines = [CSV_COLUMNS.join(',')];
  for (const m of mismatches) {
    const record = m as Record<string, unknown>;
    lines.push(CSV_COLUMNS.map((c) => quote(record[c])).join(','));
  }
  return `${lines.join('\n')}\n`;
}
