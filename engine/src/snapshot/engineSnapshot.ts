import { createHash } from 'node:crypto';
import type { EngineConfig } from '../config/engineConfig';
import { BehaviorIndexes } from '../indexes/BehaviorIndexes';
import { Catalog } from '../indexes/Catalog';
import { CovisitIndex } from '../indexes/CovisitIndex';
import { DecayClock } from '../indexes/DecayClock';
import { DecayedMap, DecayedVector } from '../indexes/DecayedVector';
import { EventLog } from '../indexes/EventLog';
import { NeighborStore } from '../indexes/NeighborStore';
import { PopularityIndex } from '../indexes/PopularityIndex';
import { RisingTop } from '../indexes/RisingTop';
import { SessionKnnIndex } from '../indexes/SessionKnnIndex';
import { TraitPopularity } from '../indexes/TraitPopularity';
import { TransitionIndex } from '../indexes/TransitionIndex';
import { TrendingSupport } from '../indexes/TrendingSupport';
import { UserProfile } from '../indexes/UserProfile';
import { GrowableFloat64 } from '../util/GrowableFloat64';
import { Interner } from '../util/Interner';
import { type AnyClass, decodeGraph, encodeGraph, GraphDecodeError } from './graphCodec';

/**
 * Bumped whenever the stored state changes shape: a field added to or renamed in any index class,
 * a class added to {@link SNAPSHOT_CLASSES}, or a change in what an index means. A snapshot of
 * another version is refused (the caller rebuilds from its event source).
 */
export const ENGINE_SNAPSHOT_FORMAT = 1;

/**
 * Every class whose instances the engine state holds, in a fixed order (the order is the format:
 * append only, and bump {@link ENGINE_SNAPSHOT_FORMAT}).
 */
const SNAPSHOT_CLASSES: readonly AnyClass[] = [
  BehaviorIndexes,
  Catalog,
  CovisitIndex,
  DecayClock,
  DecayedVector,
  DecayedMap,
  EventLog,
  NeighborStore,
  PopularityIndex,
  RisingTop,
  SessionKnnIndex,
  TraitPopularity,
  TransitionIndex,
  TrendingSupport,
  UserProfile,
  GrowableFloat64,
  Interner,
];

const MAGIC = Buffer.from('RECSYSNP', 'latin1');
/** magic (8) + format (4) + meta length (4) + body length (8) + SHA-256 (32). */
const HEADER = 8 + 4 + 4 + 8 + 32;

/** What a snapshot describes besides the engine state; the caller's fields travel untouched. */
export interface EngineSnapshotMeta {
  /** When the snapshot was written (epoch ms). */
  createdAt: number;
  /** Events the engine had learned from. */
  events: number;
  /** Items in the catalog. */
  items: number;
  /** Fields the caller passed to `snapshot()` (namespace, watermark, config version, …). */
  [key: string]: unknown;
}

/** Why a snapshot was refused. */
export type SnapshotRefusal =
  | 'truncated'
  | 'not-a-snapshot'
  | 'format'
  | 'checksum'
  | 'corrupt'
  /** A vector index snapshot of another vector length than the index restoring it. */
  | 'dimension';

/** Thrown when snapshot bytes cannot be trusted; `reason` says why, the message says what to do. */
export class EngineSnapshotError extends Error {
  constructor(
    readonly reason: SnapshotRefusal,
    message: string,
  ) {
    super(message);
    this.name = 'EngineSnapshotError';
  }
}

/** The engine state a snapshot holds (rules, vectors and caches are not part of it). */
export interface EngineState {
  config: EngineConfig;
  catalog: Catalog;
  traits: Map<string, Record<string, string>>;
  log: EventLog;
  events: number;
  behavior: BehaviorIndexes;
}

/** Writes `state` with `meta` into one buffer: header, meta (JSON), body, checksummed together. */
export function writeEngineSnapshot(state: EngineState, meta: EngineSnapshotMeta): Uint8Array {
  const metaBytes = Buffer.from(JSON.stringify(meta), 'utf8');
  // The graph is written after room left for the header and meta: no copy of the state.
  const out = encodeGraph(state, SNAPSHOT_CLASSES, HEADER + metaBytes.length);
  MAGIC.copy(out, 0);
  out.writeUInt32LE(ENGINE_SNAPSHOT_FORMAT, 8);
  out.writeUInt32LE(metaBytes.length, 12);
  out.writeDoubleLE(out.length - HEADER - metaBytes.length, 16);
  metaBytes.copy(out, HEADER);
  createHash('sha256').update(out.subarray(0, 24)).update(out.subarray(HEADER)).digest().copy(out, 24);
  return out;
}

/**
 * Reads a snapshot's meta without decoding the state (cheap: for choosing or refusing a snapshot
 * before paying for a restore). Checks the magic, the format and the lengths, not the checksum.
 */
export function readEngineSnapshotMeta(bytes: Uint8Array): EngineSnapshotMeta {
  return parseHeader(bytes).meta;
}

function parseHeader(bytes: Uint8Array): { meta: EngineSnapshotMeta; bodyStart: number; bodyLength: number } {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length < HEADER) {
    if (buf.length >= 8 && !buf.subarray(0, 8).equals(MAGIC)) {
      throw new EngineSnapshotError('not-a-snapshot', 'not an engine snapshot (wrong magic bytes)');
    }
    throw new EngineSnapshotError('truncated', `truncated: ${buf.length} bytes, shorter than the header`);
  }
  if (!buf.subarray(0, 8).equals(MAGIC)) {
    throw new EngineSnapshotError('not-a-snapshot', 'not an engine snapshot (wrong magic bytes)');
  }
  const format = buf.readUInt32LE(8);
  if (format !== ENGINE_SNAPSHOT_FORMAT) {
    throw new EngineSnapshotError(
      'format',
      `snapshot format ${format}, this engine reads format ${ENGINE_SNAPSHOT_FORMAT}`,
    );
  }
  const metaLength = buf.readUInt32LE(12);
  const bodyLength = buf.readDoubleLE(16);
  const expected = HEADER + metaLength + bodyLength;
  if (buf.length !== expected) {
    throw new EngineSnapshotError(
      'truncated',
      `truncated or padded: ${buf.length} bytes where the header announces ${expected}`,
    );
  }
  let meta: EngineSnapshotMeta;
  try {
    meta = JSON.parse(buf.toString('utf8', HEADER, HEADER + metaLength)) as EngineSnapshotMeta;
  } catch {
    throw new EngineSnapshotError('corrupt', 'snapshot meta is not valid JSON');
  }
  return { meta, bodyStart: HEADER + metaLength, bodyLength };
}

/** Verifies the checksum and decodes the state. Throws {@link EngineSnapshotError} when refused. */
export function readEngineSnapshot(bytes: Uint8Array): { meta: EngineSnapshotMeta; state: EngineState } {
  const { meta, bodyStart } = parseHeader(bytes);
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const digest = createHash('sha256').update(buf.subarray(0, 24)).update(buf.subarray(HEADER)).digest();
  if (!digest.equals(buf.subarray(24, HEADER))) {
    throw new EngineSnapshotError('checksum', 'checksum mismatch: the snapshot was altered or torn');
  }
  let state: EngineState;
  try {
    state = decodeGraph(buf.subarray(bodyStart), SNAPSHOT_CLASSES) as EngineState;
  } catch (error) {
    if (error instanceof GraphDecodeError) {
      throw new EngineSnapshotError('corrupt', `snapshot state cannot be decoded: ${error.message}`);
    }
    throw error;
  }
  if (!(state?.catalog instanceof Catalog) || !(state.behavior instanceof BehaviorIndexes)) {
    throw new EngineSnapshotError('corrupt', 'snapshot state is not an engine state');
  }
  return { meta, state };
}
