import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** `2024-05-01T10-20-30-123Z`: sortable and safe in file names on every OS. */
export function fileTimestamp(at = new Date()): string {
  return at.toISOString().replace(/[:.]/g, '-');
}

/**
 * Writes `<reportsDir>/<namespace>/<kind>-<timestamp>.json` and returns its path.
 * Evidence files record what an operator command did, for audits and CI logs.
 */
export function writeEvidence(
  reportsDir: string,
  namespaceId: string,
  kind: string,
  body: unknown,
  at = new Date(),
): string {
  const dir = resolve(reportsDir, namespaceId);
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${kind}-${fileTimestamp(at)}.json`);
  writeFileSync(path, `${JSON.stringify(body, null, 2)}\n`);
  return path;
}
