import { createHash } from 'node:crypto';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { deserialize, serialize } from 'node:v8';
import { type EngineSnapshotMeta, readEngineSnapshotMeta } from '@recsys/engine';
import type { NamespaceRuntime } from './namespaceRuntime';

/**
 * One namespace's snapshot file: the engine snapshot (versioned and checksummed by the engine), then
 * what the namespace runtime holds beside the engine (aliases, display fields, embedding hashes),
 * whose SHA-256 the engine snapshot's meta carries, then, with embeddings on, the vector index
 * (`IvfIndex.snapshot`: versioned and checksummed by the engine; its length and dimension are in the
 * meta). Layout: "RSNS" · u32 engine length · engine bytes · runtime bytes · vector index bytes.
 */

const MAGIC = Buffer.from('RSNS', 'latin1');

/** What the server stores in a snapshot's meta, and checks before using it. */
export interface NamespaceSnapshotMeta extends EngineSnapshotMeta {
  namespaceId: string;
  /** `namespaceId@created_at` (see `readNamespaceIdentity`). */
  identity: string;
  /** Every row with `tx` below it is in the snapshot, none at or above it. */
  watermark: number;
  /** Learned events of the namespace with `tx` below the watermark when written. */
  eventRows: number;
  configVersion: number | null;
  /** The encoder's model (embedding hashes depend on it); null without embeddings. */
  modelId: string | null;
  /** SHA-256 (hex) of the runtime part. */
  runtimeSha256: string;
  /**
   * The vector index at the end of the file: its length in bytes and its vector length. Null
   * without embeddings; absent in snapshots written before vectors were kept (their restore reads
   * every stored vector).
   */
  vectors?: { bytes: number; dim: number } | null;
}

/** A snapshot read back, not yet restored. */
export interface NamespaceSnapshotFile {
  meta: NamespaceSnapshotMeta;
  engine: Uint8Array;
  runtime: Uint8Array;
  /** The vector index part, when the snapshot has one. */
  vectors: Uint8Array | undefined;
}

/** The runtime state stored beside the engine. */
interface RuntimeState {
  aliases: NamespaceRuntime['aliases'];
  display: NamespaceRuntime['display'];
  storedHashes: NamespaceRuntime['storedHashes'];
  pendingEmbeddings: NamespaceRuntime['pendingEmbeddings'];
}

/** The file a namespace's snapshot lives in (ids are `[a-z0-9_-]`, but escape anyway). */
export function snapshotPath(dir: string, namespaceId: string): string {
  return join(dir, `${encodeURIComponent(namespaceId)}.snapshot`);
}

/**
 * Takes a namespace's snapshot (synchronous, so it is one consistent moment), as the parts of the
 * file in order (written one after the other, not copied into one buffer).
 */
export function captureSnapshot(
  rt: NamespaceRuntime,
  meta: Omit<NamespaceSnapshotMeta, 'runtimeSha256' | 'vectors' | 'createdAt' | 'events' | 'items'>,
): Uint8Array[] {
  const state: RuntimeState = {
    aliases: rt.aliases,
    display: rt.display,
    storedHashes: rt.storedHashes,
    pendingEmbeddings: rt.pendingEmbeddings,
  };
  const runtime = serialize(state);
  const runtimeSha256 = createHash('sha256').update(runtime).digest('hex');
  // A copy, taken now: the index goes on changing while the file is written.
  const vectors = rt.vectors?.snapshot();
  const engine = rt.engine.snapshot({
    ...meta,
    runtimeSha256,
    vectors: vectors && rt.vectors ? { bytes: vectors.length, dim: rt.vectors.dim } : null,
  });
  const head = Buffer.alloc(8);
  MAGIC.copy(head, 0);
  head.writeUInt32LE(engine.length, 4);
  return vectors ? [head, engine, runtime, vectors] : [head, engine, runtime];
}

/**
 * Writes a snapshot atomically: a temporary file in the same directory, flushed to disk, then
 * renamed over the old one, so a reader (or a crash) sees the old snapshot or the new, never half.
 */
export async function writeSnapshotFile(
  dir: string,
  namespaceId: string,
  parts: readonly Uint8Array[],
): Promise<void> {
  await mkdir(dir, { recursive: true });
  const path = snapshotPath(dir, namespaceId);
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    const file = await open(tmp, 'w');
    try {
      for (const part of parts) await file.write(part);
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(tmp, path);
  } catch (error) {
    await rm(tmp, { force: true });
    throw error;
  }
}

/** Why a snapshot file was not used. */
export class SnapshotRefused extends Error {}

/**
 * Reads a namespace's snapshot and checks its framing and meta (not yet the checksums: the engine
 * checks its own on restore, {@link restoreRuntimeState} the runtime's). Undefined: no file.
 */
export async function readSnapshotFile(
  dir: string,
  namespaceId: string,
): Promise<NamespaceSnapshotFile | undefined> {
  let bytes: Buffer;
  try {
    bytes = await readFile(snapshotPath(dir, namespaceId));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  if (bytes.length < 8 || !bytes.subarray(0, 4).equals(MAGIC)) {
    throw new SnapshotRefused('not a namespace snapshot (wrong magic bytes)');
  }
  const engineLength = bytes.readUInt32LE(4);
  if (bytes.length < 8 + engineLength) {
    throw new SnapshotRefused(
      `truncated: ${bytes.length} bytes, the engine part alone announces ${engineLength}`,
    );
  }
  const engine = bytes.subarray(8, 8 + engineLength);
  const meta = readEngineSnapshotMeta(engine) as NamespaceSnapshotMeta;
  const vectorBytes = meta.vectors?.bytes ?? 0;
  if (bytes.length < 8 + engineLength + vectorBytes) {
    throw new SnapshotRefused(
      `truncated: ${bytes.length} bytes, the engine and vector index parts alone announce ${engineLength + vectorBytes}`,
    );
  }
  const vectorsStart = bytes.length - vectorBytes;
  return {
    meta,
    engine,
    runtime: bytes.subarray(8 + engineLength, vectorsStart),
    vectors: meta.vectors ? bytes.subarray(vectorsStart) : undefined,
  };
}

/** Checks the runtime part against the digest in the meta and decodes it into `rt`. */
export function restoreRuntimeState(file: NamespaceSnapshotFile, rt: NamespaceRuntime): void {
  const digest = createHash('sha256').update(file.runtime).digest('hex');
  if (digest !== file.meta.runtimeSha256) {
    throw new SnapshotRefused('checksum mismatch in the runtime part: the snapshot was altered or torn');
  }
  const state = deserialize(file.runtime) as RuntimeState;
  rt.aliases = state.aliases;
  rt.display = state.display;
  rt.storedHashes = state.storedHashes;
  rt.pendingEmbeddings = state.pendingEmbeddings;
}
