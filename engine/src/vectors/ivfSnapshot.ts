/**
 * The binary form of an {@link IvfIndex}'s state (see `IvfIndex.snapshot`): every typed array as its
 * raw bytes, the item ids as one UTF-8 block, so a restore is a few memory copies and one pass over
 * the ids rather than one object per item. Checked like an engine snapshot: magic, format, lengths
 * and a SHA-256 of the whole; refused with an {@link EngineSnapshotError} otherwise.
 */
import * as frame from '../snapshot/snapshotFrame';
import { type VectorPrecision, VectorStore } from './VectorStore';

const { EngineSnapshotError, FRAME_HEADER: HEADER } = frame;

/**
 * Bumped whenever the layout or the meaning of a field changes; other formats are refused.
 * 2: the vectors' precision and, at int8, one scale per slot; neighbour table scores as int16.
 */
export const IVF_SNAPSHOT_FORMAT = 2;

/** The frame's field is the vector length. */
const FRAME: frame.FrameKind = {
  magic: Buffer.from('RECSYIVF', 'latin1'),
  format: IVF_SNAPSHOT_FORMAT,
  name: 'a vector index snapshot',
  label: 'vector index snapshot',
};
/** Counts written before the arrays, as float64 (see {@link IvfCounts}). */
const COUNT_FIELDS = 16;
const PRECISION_CODES: readonly VectorPrecision[] = ['float32', 'int8'];

/** Every item's precomputed neighbours, by slot (see `IvfIndexOptions.neighborTable`). */
export interface NeighborTable {
  /** Row length. */
  k: number;
  /** Training the rows were computed under (slots are renumbered by each training). */
  generation: number;
  /** Writes before the build started: vectors written later are scored at read time. */
  writes: number;
  /** Slots that have a row. */
  rows: number;
  /** rows × k neighbour slots, best first, −1 after the last. */
  slots: Int32Array;
  /** Cosine of each entry times {@link TABLE_SCORE_SCALE}, rounded: half the bytes of float32. */
  scores: Int16Array;
}

/** Table scores are stored as round(cosine × this): steps of 3·10⁻⁵, below float32 vectors' own noise. */
export const TABLE_SCORE_SCALE = 32_767;

/** Everything an index must get back to answer exactly as before. */
export interface IvfState {
  dim: number;
  /** Slots in use or free (`data` holds `nextSlot × dim` floats that matter). */
  nextSlot: number;
  /** The vectors (`nextSlot` of its slots matter). */
  store: VectorStore;
  slotVersion: Float64Array;
  /** Item id of each slot below `nextSlot`, undefined for a free one. */
  slotIds: readonly (string | undefined)[];
  /**
   * The used slots in the order the index iterates its items (training samples in that order, so
   * keeping it keeps a later training's lists the same too).
   */
  order: Int32Array;
  freeSlots: readonly number[];
  /** Slots of each list, in list order. */
  lists: readonly (readonly number[])[];
  centroids: Float32Array | undefined;
  trainedAtSize: number;
  writes: number;
  trainings: number;
  /** Item ids of the last writes (at most the change log's length), oldest first. */
  recentWrites: readonly string[];
  table: NeighborTable | undefined;
}

interface IvfCounts {
  nextSlot: number;
  writes: number;
  trainings: number;
  trainedAtSize: number;
  lists: number;
  listed: number;
  trained: number;
  free: number;
  recent: number;
  idBytes: number;
  table: number;
  tableK: number;
  tableGeneration: number;
  tableWrites: number;
  used: number;
  /** Index in {@link PRECISION_CODES}. */
  precision: number;
}
const COUNT_NAMES: (keyof IvfCounts)[] = [
  'nextSlot',
  'writes',
  'trainings',
  'trainedAtSize',
  'lists',
  'listed',
  'trained',
  'free',
  'recent',
  'idBytes',
  'table',
  'tableK',
  'tableGeneration',
  'tableWrites',
  'used',
  'precision',
];

const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const pad8 = (n: number) => (n + 7) & ~7;

function bytesOf(array: ArrayBufferView, length: number): Uint8Array {
  return new Uint8Array(array.buffer, array.byteOffset, length);
}

/** The sections after the counts, in order: byte length of each given the counts and dim. */
function sectionLengths(c: IvfCounts, dim: number, tableRows: number): number[] {
  const int8 = PRECISION_CODES[c.precision] === 'int8';
  return [
    c.nextSlot * dim * (int8 ? 1 : 4), // vectors
    c.nextSlot * 8, // slot versions
    c.lists * 4, // list lengths
    c.listed * 4, // list members
    c.trained ? c.lists * dim * 4 : 0, // centroids
    c.free * 4, // free slots
    (c.nextSlot + c.recent) * 4, // id byte lengths (−1: free slot)
    c.idBytes, // ids, UTF-8
    c.table ? tableRows * c.tableK * 4 : 0, // table slots
    c.table ? tableRows * c.tableK * 2 : 0, // table scores
    c.used * 4, // iteration order
    int8 ? c.nextSlot * 4 : 0, // int8 scales
  ];
}

/** Writes `state` into one checksummed buffer. */
export function encodeIvfState(state: IvfState): Uint8Array {
  if (!littleEndian) throw new Error('IvfIndex snapshots need a little-endian host');
  const { dim, nextSlot } = state;
  const ids: (string | undefined)[] = [];
  for (let slot = 0; slot < nextSlot; slot++) ids.push(state.slotIds[slot]);
  ids.push(...state.recentWrites);
  const idLengths = new Int32Array(ids.length);
  let idBytes = 0;
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    idLengths[i] = id === undefined ? -1 : Buffer.byteLength(id, 'utf8');
    idBytes += Math.max(0, idLengths[i]!);
  }
  const listLengths = Int32Array.from(state.lists, (list) => list.length);
  const listed = listLengths.reduce((n, l) => n + l, 0);
  const { table } = state;
  const counts: IvfCounts = {
    nextSlot,
    writes: state.writes,
    trainings: state.trainings,
    trainedAtSize: state.trainedAtSize,
    lists: state.lists.length,
    listed,
    trained: state.centroids ? 1 : 0,
    free: state.freeSlots.length,
    recent: state.recentWrites.length,
    idBytes,
    table: table ? 1 : 0,
    tableK: table?.k ?? 0,
    tableGeneration: table?.generation ?? 0,
    tableWrites: table?.writes ?? 0,
    used: state.order.length,
    precision: PRECISION_CODES.indexOf(state.store.precision),
  };
  const tableRows = table?.rows ?? 0;
  const lengths = sectionLengths(counts, dim, tableRows);
  const bodyLength = 8 * (COUNT_FIELDS + 1) + lengths.reduce((n, l) => n + pad8(l), 0);
  const out = Buffer.alloc(HEADER + bodyLength);
  let pos = HEADER;
  for (const name of COUNT_NAMES) {
    out.writeDoubleLE(counts[name], pos);
    pos += 8;
  }
  out.writeDoubleLE(tableRows, pos);
  pos += 8;
  const put = (bytes: Uint8Array) => {
    out.set(bytes, pos);
    pos += pad8(bytes.length);
  };
  const idBlock = Buffer.allocUnsafe(idBytes);
  let idPos = 0;
  for (const id of ids) if (id !== undefined) idPos += idBlock.write(id, idPos, 'utf8');
  const lists = new Int32Array(listed);
  let at = 0;
  for (const list of state.lists) for (const slot of list) lists[at++] = slot;
  const { components, scales } = state.store.arrays();
  put(bytesOf(components, lengths[0]!));
  put(bytesOf(state.slotVersion, lengths[1]!));
  put(bytesOf(listLengths, lengths[2]!));
  put(bytesOf(lists, lengths[3]!));
  put(state.centroids ? bytesOf(state.centroids, lengths[4]!) : new Uint8Array(0));
  put(bytesOf(Int32Array.from(state.freeSlots), lengths[5]!));
  put(bytesOf(idLengths, lengths[6]!));
  put(idBlock);
  put(table ? bytesOf(table.slots, lengths[8]!) : new Uint8Array(0));
  put(table ? bytesOf(table.scores, lengths[9]!) : new Uint8Array(0));
  put(bytesOf(state.order, lengths[10]!));
  put(scales ? bytesOf(scales, lengths[11]!) : new Uint8Array(0));
  frame.sealFrame(out, FRAME, dim, bodyLength);
  return out;
}

/**
 * Checks and decodes what {@link encodeIvfState} wrote. `capacity(n)`: how many slots to allocate
 * for `n` used ones (room to grow). Throws {@link EngineSnapshotError} when the bytes are torn,
 * altered, of another format or of another dimension than `dim` or precision than `precision`.
 */
export function decodeIvfState(
  bytes: Uint8Array,
  dim: number,
  precision: VectorPrecision,
  capacity: (slots: number) => number,
): IvfState {
  const { buf, field: stored, bodyLength } = frame.openFrame(bytes, FRAME);
  if (stored !== dim) {
    throw new EngineSnapshotError('dimension', `vector index of ${stored} dims, this index has ${dim}`);
  }
  if (!littleEndian)
    throw new EngineSnapshotError('format', 'vector index snapshots need a little-endian host');
  if (buf.length !== HEADER + bodyLength) {
    throw new EngineSnapshotError(
      'truncated',
      `vector index truncated or padded: ${buf.length} bytes where the header announces ${HEADER + bodyLength}`,
    );
  }
  frame.verifyFrame(buf, FRAME);
  let pos = HEADER;
  const counts = {} as IvfCounts;
  for (const name of COUNT_NAMES) {
    counts[name] = buf.readDoubleLE(pos);
    pos += 8;
  }
  const tableRows = buf.readDoubleLE(pos);
  pos += 8;
  const storedPrecision = PRECISION_CODES[counts.precision];
  if (storedPrecision === undefined) {
    throw new EngineSnapshotError('corrupt', 'vector index of an unknown precision');
  }
  if (storedPrecision !== precision) {
    throw new EngineSnapshotError(
      'precision',
      `vector index of ${storedPrecision} vectors, this index keeps ${precision} (restore into an index of the same precision)`,
    );
  }
  const lengths = sectionLengths(counts, dim, tableRows);
  if (8 * (COUNT_FIELDS + 1) + lengths.reduce((n, l) => n + pad8(l), 0) !== bodyLength) {
    throw new EngineSnapshotError('corrupt', 'vector index sections do not add up to its length');
  }
  let section = 0;
  /** Copies the next section into `target` (one memcpy: the file's bytes need not be aligned). */
  const take = <T extends ArrayBufferView>(target: T): T => {
    const length = lengths[section++]!;
    new Uint8Array(target.buffer, target.byteOffset, length).set(buf.subarray(pos, pos + length));
    pos += pad8(length);
    return target;
  };
  const { nextSlot } = counts;
  const slots = Math.max(nextSlot, capacity(nextSlot));
  const store = new VectorStore(dim, precision, slots);
  const arrays = store.arrays();
  take(arrays.components);
  const slotVersion = take(new Float64Array(slots));
  const listLengths = take(new Int32Array(counts.lists));
  const members = take(new Int32Array(counts.listed));
  let centroids: Float32Array | undefined;
  if (counts.trained) centroids = take(new Float32Array(counts.lists * dim));
  else section++;
  const freeSlots = Array.from(take(new Int32Array(counts.free)));
  const idLengths = take(new Int32Array(nextSlot + counts.recent));
  const idStart = pos;
  pos += pad8(lengths[section++]!);
  const table = counts.table
    ? {
        k: counts.tableK,
        generation: counts.tableGeneration,
        writes: counts.tableWrites,
        rows: tableRows,
        slots: take(new Int32Array(tableRows * counts.tableK)),
        scores: take(new Int16Array(tableRows * counts.tableK)),
      }
    : undefined;
  if (!counts.table) section += 2;
  const order = take(new Int32Array(counts.used));
  if (arrays.scales) take(arrays.scales);
  const slotIds: (string | undefined)[] = new Array(nextSlot);
  const recentWrites: string[] = [];
  let idPos = idStart;
  for (let i = 0; i < idLengths.length; i++) {
    const length = idLengths[i]!;
    const id = length < 0 ? undefined : buf.toString('utf8', idPos, idPos + length);
    idPos += Math.max(0, length);
    if (i < nextSlot) slotIds[i] = id;
    else recentWrites.push(id ?? '');
  }
  for (const slot of order) {
    if (slotIds[slot] === undefined) {
      throw new EngineSnapshotError('corrupt', `vector index orders slot ${slot}, which holds no item`);
    }
  }
  const lists: number[][] = [];
  let at = 0;
  for (const length of listLengths) {
    const list = new Array<number>(length);
    for (let j = 0; j < length; j++) {
      const slot = members[at++]!;
      if (!(slot >= 0 && slot < nextSlot)) {
        throw new EngineSnapshotError('corrupt', `vector index list names slot ${slot} of ${nextSlot}`);
      }
      list[j] = slot;
    }
    lists.push(list);
  }
  return {
    dim,
    nextSlot,
    store,
    slotVersion,
    slotIds,
    order,
    freeSlots,
    lists,
    centroids,
    trainedAtSize: counts.trainedAtSize,
    writes: counts.writes,
    trainings: counts.trainings,
    recentWrites,
    table,
  };
}
