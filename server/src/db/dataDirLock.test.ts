import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase } from './client';
import { LOCK_FILE } from './dataDirLock';

describe('the embedded database folder', () => {
  const dirs: string[] = [];
  const scratch = () => {
    const dir = mkdtempSync(join(tmpdir(), 'recsys-lock-'));
    dirs.push(dir);
    return dir;
  };
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('is opened by one holder at a time, and a second one is told who holds it', async () => {
    const dataDir = scratch();
    const first = await openDatabase({ dataDir });
    await expect(openDatabase({ dataDir })).rejects.toThrow(
      new RegExp(`open in another process \\(pid ${process.pid}, this one\\).*stop that process first`),
    );
    // The refused opener changed nothing: the holder still works.
    await expect(first.query('select 1 as one')).resolves.toEqual([{ one: 1 }]);
    await first.close();
    expect(existsSync(join(dataDir, LOCK_FILE))).toBe(false);
    const second = await openDatabase({ dataDir });
    await second.close();
  });

  it('is taken over from a process that died without releasing it', async () => {
    const dataDir = scratch();
    // The pid of a process that has exited: its lock is stale.
    const gone = spawnSync(process.execPath, [
      '-e',
      'process.stdout.write(String(process.pid))',
    ]).stdout.toString();
    writeFileSync(join(dataDir, LOCK_FILE), `${gone}\n`);
    const database = await openDatabase({ dataDir });
    await expect(database.query('select 1 as one')).resolves.toEqual([{ one: 1 }]);
    await database.close();
  });
});
