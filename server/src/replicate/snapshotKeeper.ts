import { createEngine, type EmbeddingEncoder, EngineSnapshotError } from '@recsys/engine';
import type { Database } from '../db/client';
import type { Logger } from '../obs/logger';
import type { ChangeVersions } from './changeVersions';
import { createNamespaceRuntime, type NamespaceRuntime } from './namespaceRuntime';
import {
  countEventsBefore,
  countNamespaceEventsBefore,
  readActiveConfig,
  readChanges,
  readNamespaceIdentity,
} from './reads';
import {
  captureSnapshot,
  type NamespaceSnapshotFile,
  readSnapshotFile,
  restoreRuntimeState,
  SnapshotRefused,
  writeSnapshotFile,
} from './snapshotFiles';

/** What the {@link SnapshotKeeper} needs of the engine host it works for. */
export interface SnapshotHost {
  database: Database;
  log: Logger;
  encoder: EmbeddingEncoder | null;
  /** Folder of the snapshot files; undefined: no snapshots. */
  dir: string | undefined;
  /** How often changed namespaces are snapshotted, ms. */
  intervalMs: number;
  /** The runtimes held now, by namespace. */
  runtimes: ReadonlyMap<string, NamespaceRuntime>;
  places(namespaceId: string): boolean;
  /**
   * Runs `capture` while no poll runs, with the watermark every applied row is below; a poll asked
   * for meanwhile waits for it.
   */
  inPollSlot(capture: (watermark: number) => Promise<void>): Promise<void>;
  /** Told after a snapshot file was written, with when each namespace's snapshot in use was taken. */
  onWritten(times: Readonly<Record<string, number>>): void;
}

/** A namespace runtime restored from its snapshot file, before the rows written since are applied. */
export interface RestoredNamespace {
  rt: NamespaceRuntime;
  file: NamespaceSnapshotFile;
}

/**
 * The engine host's snapshots: which namespaces changed since their last one, restoring one at start
 * (after checking that it still describes the database), and writing them every interval and at
 * shutdown. Apart from `EngineHost` because none of it is needed to keep engines in step with the
 * database; the host tells it what changed and lends it the poll slot to capture in.
 */
export class SnapshotKeeper {
  /** Namespaces changed since their last snapshot. */
  private readonly unsaved = new Set<string>();
  /** When each namespace's snapshot in use (loaded or last written) was taken, epoch ms. */
  readonly times: Record<string, number> = {};
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(private readonly host: SnapshotHost) {}

  /** A row was applied to the namespace: the snapshot on disk no longer holds all of it. */
  changed(namespaceId: string): void {
    this.unsaved.add(namespaceId);
  }

  /** The namespace is as its snapshot on disk (restored, before any row is applied on top of it). */
  inStep(namespaceId: string): void {
    this.unsaved.delete(namespaceId);
  }

  /**
   * The namespace's snapshot as a runtime, its engine restored, or undefined (after logging why)
   * when there is no usable snapshot: the caller then builds from the database. The caller applies
   * the rows from the file's watermark on, as a poll would.
   */
  async restore(
    namespaceId: string,
    hi: number,
    versions: ChangeVersions,
  ): Promise<RestoredNamespace | undefined> {
    const { dir, log } = this.host;
    if (dir === undefined) return undefined;
    try {
      const file = await readSnapshotFile(dir, namespaceId);
      if (file === undefined) {
        log.info({ namespaceId, snapshotDir: dir }, 'no engine snapshot; building from the database');
        return undefined;
      }
      await this.check(file, namespaceId, hi);
      // As a full load at start: the versions begin at `hi` (see ChangeVersions).
      versions.loaded(hi);
      const rt = createNamespaceRuntime(namespaceId, this.host.encoder, versions);
      rt.engine = createEngine({ snapshot: file.engine });
      rt.engine.setVectors(rt.vectors);
      restoreRuntimeState(file, rt);
      if (file.vectors && rt.vectors) rt.vectors.restore(file.vectors);
      this.times[namespaceId] = file.meta.createdAt;
      return { rt, file };
    } catch (error) {
      // Whatever went wrong (an unreadable file included), a snapshot never stops a start.
      const expected = error instanceof SnapshotRefused || error instanceof EngineSnapshotError;
      log.warn(
        {
          namespaceId,
          snapshotDir: dir,
          reason: (error as Error).message,
          ...(expected ? {} : { err: error }),
        },
        'engine snapshot refused; building from the database',
      );
      return undefined;
    }
  }

  /** Throws {@link SnapshotRefused} when a snapshot does not describe the database as it is now. */
  private async check(file: NamespaceSnapshotFile, namespaceId: string, hi: number): Promise<void> {
    const { database: db, encoder } = this.host;
    const { meta } = file;
    if (meta.namespaceId !== namespaceId) {
      throw new SnapshotRefused(`snapshot of namespace ${JSON.stringify(meta.namespaceId)}`);
    }
    const identity = await readNamespaceIdentity(db, namespaceId);
    if (meta.identity !== identity) {
      throw new SnapshotRefused(
        `snapshot of another incarnation of the namespace (${meta.identity}, the database holds ${identity}): it was deleted and created again, or the snapshot comes from another database`,
      );
    }
    if (!(meta.watermark <= hi)) {
      throw new SnapshotRefused(
        `snapshot watermark ${meta.watermark} is ahead of the database (${hi}): it comes from another database`,
      );
    }
    const config = await readActiveConfig(db, namespaceId);
    if ((config?.version ?? null) !== meta.configVersion) {
      throw new SnapshotRefused(
        `config version ${meta.configVersion} in the snapshot, ${config?.version ?? null} active`,
      );
    }
    const modelId = encoder?.modelId ?? null;
    if (meta.modelId !== modelId) {
      throw new SnapshotRefused(`embedding model ${meta.modelId} in the snapshot, ${modelId} in use`);
    }
    const dim = encoder?.dim;
    if (meta.vectors && meta.vectors.dim !== dim) {
      throw new SnapshotRefused(
        `vectors of ${meta.vectors.dim} dims in the snapshot, the encoder makes ${dim}`,
      );
    }
    for (const change of await readChanges(db, { lo: meta.watermark, hi })) {
      if (change.namespaceId !== namespaceId || change.kind === 'config' || change.kind === 'rules') continue;
      throw new SnapshotRefused(`a ${change.kind} since the snapshot changed rows it was built from`);
    }
    const rows = await countNamespaceEventsBefore(db, namespaceId, meta.watermark);
    if (rows !== meta.eventRows) {
      throw new SnapshotRefused(
        `the database holds ${rows} events below the snapshot's watermark, the snapshot was built from ${meta.eventRows} (a backup restored or events deleted since)`,
      );
    }
  }

  /** Writes the changed namespaces every interval until {@link stop}. */
  schedule(): void {
    if (this.stopped || this.host.dir === undefined) return;
    this.timer = setTimeout(async () => {
      await this.write();
      this.schedule();
    }, this.host.intervalMs);
    this.timer.unref();
  }

  /** No more periodic snapshots (a shutdown's own {@link write} still runs). */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  /**
   * Writes a snapshot of every namespace changed since its last one. The engines are captured in the
   * poll slot, so each snapshot holds exactly the rows below one watermark; the files are written
   * after the slot is released. Failures are logged, not thrown: a missing snapshot only makes the
   * next start slower. `all`: every namespace held, changed or not (engines filled in code rather
   * than from the database: benchmarks).
   */
  write(options: { all?: boolean } = {}): Promise<void> {
    // One at a time: a shutdown's snapshot waits for a periodic one still writing its files.
    const run = this.writing.then(() => this.writeNow(options));
    this.writing = run.catch(() => undefined);
    return run;
  }

  private async writeNow(options: { all?: boolean }): Promise<void> {
    const { dir, database, log, runtimes } = this.host;
    if (dir === undefined) return;
    const captured: Array<{ namespaceId: string; parts: Uint8Array[]; at: number; ms: number }> = [];
    try {
      await this.host.inPollSlot(async (watermark) => {
        const todo = [...(options.all ? runtimes.keys() : this.unsaved)].filter(
          (id) => runtimes.has(id) && this.host.places(id),
        );
        if (todo.length === 0) return;
        const counts = await countEventsBefore(database, watermark);
        for (const namespaceId of todo) {
          const rt = runtimes.get(namespaceId)!;
          const identity = await readNamespaceIdentity(database, namespaceId);
          if (identity === null) continue; // deleted meanwhile
          const at = Date.now();
          const t0 = performance.now();
          const parts = captureSnapshot(rt, {
            namespaceId,
            identity,
            watermark,
            eventRows: counts.get(namespaceId) ?? 0,
            configVersion: rt.configVersion,
            modelId: this.host.encoder?.modelId ?? null,
          });
          this.unsaved.delete(namespaceId);
          captured.push({ namespaceId, parts, at, ms: performance.now() - t0 });
        }
      });
    } catch (error) {
      log.error({ err: error }, 'engine snapshot failed');
    }
    for (const { namespaceId, parts, at, ms } of captured) {
      const t0 = performance.now();
      try {
        await writeSnapshotFile(dir, namespaceId, parts);
        this.times[namespaceId] = at;
        this.host.onWritten(this.times);
        log.info(
          {
            namespaceId,
            bytes: parts.reduce((n, p) => n + p.length, 0),
            captureMs: Math.round(ms),
            writeMs: Math.round(performance.now() - t0),
          },
          'engine snapshot written',
        );
      } catch (error) {
        this.unsaved.add(namespaceId);
        log.error({ err: error, namespaceId }, 'engine snapshot not written');
      }
    }
  }
}
