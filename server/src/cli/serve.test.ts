import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const bin = fileURLToPath(new URL('../../bin/recsys.js', import.meta.url));
const dataDir = mkdtempSync(join(tmpdir(), 'recsys-serve-'));

describe('recsys serve', () => {
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('serves with a fixed malloc mmap threshold, and stops cleanly on SIGTERM', async () => {
    const launcher = spawn(process.execPath, [bin, 'serve', '--port', '0', '--embeddings', 'off'], {
      env: { ...process.env, DATABASE_URL: '', RECSYS_DATA_DIR: dataDir, MALLOC_MMAP_THRESHOLD_: undefined },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = new Promise<number | null>((resolve) => launcher.once('exit', (code) => resolve(code)));
    const url = await new Promise<string>((resolve, reject) => {
      createInterface({ input: launcher.stdout! }).on('line', (line) => {
        const entry = JSON.parse(line) as { url?: string };
        if (entry.url) resolve(entry.url);
      });
      launcher.once('exit', (code) => reject(new Error(`recsys serve exited with ${code}`)));
    });
    expect((await fetch(`${url}/healthz`)).status).toBe(200);

    if (process.platform === 'linux') {
      // The server runs as the launcher's child with glibc's mmap threshold fixed (see bin/recsys.js).
      const [serverPid] = readFileSync(`/proc/${launcher.pid}/task/${launcher.pid}/children`, 'utf8')
        .trim()
        .split(' ')
        .map(Number);
      const environ = readFileSync(`/proc/${serverPid}/environ`, 'utf8').split('\0');
      expect(environ).toContain('MALLOC_MMAP_THRESHOLD_=131072');
    }

    launcher.kill('SIGTERM');
    expect(await exited).toBe(0);
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();
  }, 60_000);
});
