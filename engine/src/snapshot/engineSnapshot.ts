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
import {
  EngineSnapshotError,
  type FrameKind,
  FRAME_HEADER as HEADER,
  openFrame,
  sealFrame,
  verifyFrame,
} from './snapshotFrame';

export { EngineSnapshotError, type SnapshotRefusal } from './snapshotFrame';

/**
 * Bumped whenever the stored state changes shape: a field added to or renamed in any index class,
 * a class added to {@link SNAPSHOT_CLASSES}, or a change in what an index means. A snapshot of
 * another version is refused (the caller rebuilds from its event source).
 */
export const ENGINE_SNAPSHOT_FORMAT = 7; // 7: UserProfile items and tags as one interleaved array each; 6: EventLog keeps values and orders for the events that have them only; 5: UserProfile counts visits per item (4: sessions without a Set of their items, item tag ids in plain arrays; 3: number arrays as raw int32 or float64 values; 2: NeighborStore keys apart from weights)

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

/** The frame's field is the meta's length. */
const FRAME: FrameKind = {
  magic: Buffer.from('RECSYSNP', 'latin1'),
  format: ENGINE_SNAPSHOT_FORMAT,
  name: 'an engine snapshot',
  label: 'snapshot',
};

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
  metaBytes.copy(out, HEADER);
  sealFrame(out, FRAME, metaBytes.length, out.length - HEADER - metaBytes.length);
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
  const { buf, field: metaLength, bodyLength } = openFrame(bytes, FRAME);
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
  verifyFrame(buf, FRAME);
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
