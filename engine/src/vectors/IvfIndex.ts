/**
 * The IVF vector index. Longer than the ~450-line guideline on purpose: the slots, lists,
 * centroids, change log and neighbour table are one memory layout that training, search and the
 * table build all rewrite together (training reorders slots list by list; the table is keyed by
 * slot and generation). Splitting the class would expose that private state to other files.
 * The ONNX kernels it drives already live apart (`kmeansAssign.ts`, `topKDot.ts`).
 */
import { mulberry32 } from '../util/random';
import { decodeIvfState, encodeIvfState, type NeighborTable, TABLE_SCORE_SCALE } from './ivfSnapshot';
import { assignToCentroids } from './kmeansAssign';
import { topKDot } from './topKDot';
import type { Neighbor, VectorSource } from './types';
import { type VectorPrecision, VectorStore } from './VectorStore';

/** Recent writes remembered for {@link IvfIndex.changedSince}. */
const CHANGE_LOG = 1024;

/** Options of the IVF (inverted file, k-means coarse quantizer) index. */
export interface IvfIndexOptions {
  /**
   * Vector length; every added vector and query must have it.
   * @example { dim: 256 }
   */
  dim: number;
  /**
   * Number of k-means lists. `'auto'` picks round(√n) (clamped to [8, 4096])
   * at each training, which balances centroid scoring against list scanning.
   * @default 'auto'
   * @example { dim: 256, nlist: 1024 }
   */
  nlist?: number | 'auto';
  /**
   * Lists scanned per query. More ⇒ better recall, slower. `'auto'` scans
   * max(8, ⌈nlist / 10⌉) lists (≈10% of the vectors), which measured recall@10
   * ≥ 0.9 on clustered embeddings. Queries with a filter scan further lists
   * until k matches are found.
   * @default 'auto'
   * @example { dim: 256, nprobe: 32 }
   */
  nprobe?: number | 'auto';
  /**
   * Lists scanned by {@link IvfIndex.neighborsOf} (neighbours of a stored item). A stored vector
   * sits in its own closest list, so its neighbours concentrate in fewer lists than those of an
   * arbitrary query. `'auto'` scans max(8, ⌈nlist / 20⌉), half of `nprobe`'s auto.
   * @default 'auto'
   * @example { dim: 256, itemNprobe: 32 }
   */
  itemNprobe?: number | 'auto';
  /**
   * Below this many vectors the index is not trained and every query is an
   * exact scan (fast enough, and k-means on few points is pointless).
   * @default 4096
   * @example { dim: 256, trainThreshold: 10_000 }
   */
  trainThreshold?: number;
  /**
   * Retrain when the index has grown by this factor since the last training,
   * so lists stay balanced as the catalog grows.
   * @default 4
   * @example { dim: 256, retrainGrowth: 2 }
   */
  retrainGrowth?: number;
  /**
   * Start a background `train()` from `add()` when `needsTraining()` turns
   * true. Queries never wait for it: until it finishes they use the previous
   * lists (or an exact scan). Set to false to schedule `train()` yourself.
   * @default true
   * @example { dim: 256, autoTrain: false }
   */
  autoTrain?: boolean;
  /**
   * k-means iterations.
   * @default 8
   * @example { dim: 256, kmeansIterations: 12 }
   */
  kmeansIterations?: number;
  /**
   * Training points per list (the sample is `nlist × this`, capped at n).
   * @default 32
   * @example { dim: 256, samplesPerList: 64 }
   */
  samplesPerList?: number;
  /**
   * Seed of the sampling, for reproducible lists.
   * @default 1
   * @example { dim: 256, seed: 42 }
   */
  seed?: number;
  /**
   * Length of the precomputed neighbour lists kept for every stored item (`false`: none). With a
   * table, {@link IvfIndex.neighborsOf} for up to this many neighbours reads the item's row
   * (microseconds) instead of scanning lists (milliseconds at 100k × 256). The table is built in
   * the background by onnxruntime after each training and rebuilt once writes since the last
   * build approach the change log's reach (1,024) and have been quiet for a second (at most 30 s
   * after that); until then rows are patched with the vectors written since. Costs `n × k × 6` bytes (90 MB at 100k × 150): a slot and an int16 score per entry.
   * @default false
   * @example { dim: 256, neighborTable: 120 }
   */
  neighborTable?: number | false;
  /**
   * How vectors are kept: `'float32'` (exact, `dim × 4` bytes each) or `'int8'` (`dim + 4` bytes
   * each, a quarter of the memory: 26 MB instead of 102 MB at 100k × 256). Int8 vectors are read
   * back as unit vectors whose cosine to the original is about 0.9999, so scores move by about
   * 0.002 and near-ties in a neighbour list may swap: on the built-in encoder's vectors of 20,000
   * generated items, recall@10 against exact float32 neighbours was 0.9955 for an exact int8 scan and
   * 0.9866 from an int8 neighbour table (0.9911 from a float32 one; `server/bench/vectorPrecision.bench.ts`).
   * A snapshot restores only into an index of the same precision.
   * @default 'float32'
   * @example { dim: 256, precision: 'int8' }
   */
  precision?: VectorPrecision;
}

/** How long writes must pause before a stale neighbour table is rebuilt. */
const TABLE_QUIET_MS = 1000;
/** Longest a rebuild waits for such a pause: a catalog that changes every second still gets one. */
const TABLE_MAX_WAIT_MS = 30_000;

function dot(a: Float32Array, aOff: number, b: Float32Array, bOff: number, dim: number): number {
  // Four accumulators let V8 pipeline the multiply-adds.
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let i = 0;
  for (; i + 3 < dim; i += 4) {
    s0 += a[aOff + i]! * b[bOff + i]!;
    s1 += a[aOff + i + 1]! * b[bOff + i + 1]!;
    s2 += a[aOff + i + 2]! * b[bOff + i + 2]!;
    s3 += a[aOff + i + 3]! * b[bOff + i + 3]!;
  }
  for (; i < dim; i++) s0 += a[aOff + i]! * b[bOff + i]!;
  return s0 + s1 + s2 + s3;
}

/** Bounded min-heap keeping the k best (highest score) slots. */
class TopK {
  readonly scores: Float64Array;
  readonly slots: Int32Array;
  size = 0;
  constructor(readonly k: number) {
    this.scores = new Float64Array(k);
    this.slots = new Int32Array(k);
  }
  get worst(): number {
    return this.size < this.k ? Number.NEGATIVE_INFINITY : this.scores[0]!;
  }
  push(score: number, slot: number): void {
    const { scores, slots } = this;
    if (this.size < this.k) {
      let i = this.size++;
      while (i > 0) {
        const p = (i - 1) >> 1;
        if (scores[p]! <= score) break;
        scores[i] = scores[p]!;
        slots[i] = slots[p]!;
        i = p;
      }
      scores[i] = score;
      slots[i] = slot;
      return;
    }
    if (score <= scores[0]!) return;
    let i = 0;
    const n = this.size;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && scores[r]! < scores[l]! ? r : l;
      if (scores[c]! >= score) break;
      scores[i] = scores[c]!;
      slots[i] = slots[c]!;
      i = c;
    }
    scores[i] = score;
    slots[i] = slot;
  }
}

function positiveInt(name: string, value: number, min = 1): number {
  if (!Number.isInteger(value) || value < min) {
    throw new RangeError(`IvfIndex option "${name}" must be an integer ≥ ${min}, got ${String(value)}`);
  }
  return value;
}

/**
 * Approximate nearest-neighbour index over L2-normalised float32 vectors
 * (cosine = dot product). Vectors live in one growable Float32Array; a
 * spherical k-means coarse quantizer splits them into lists and a query scans
 * the `nprobe` lists whose centroids are closest. Add, update and remove are
 * O(nlist·dim) and never need a rebuild.
 *
 * @example
 * const index = new IvfIndex({ dim: 256 });
 * index.add('sku-1', vector);
 * index.nearest(query, 10, (id) => id !== 'sku-1');
 */
export class IvfIndex implements VectorSource {
  readonly dim: number;
  /** Vectors are stored L2-normalised (all zeros for a zero vector), so cosine = dot product. */
  readonly normalized = true;
  private readonly options: Required<Omit<IvfIndexOptions, 'dim'>>;
  private table: NeighborTable | undefined;
  private tableBuild: Promise<boolean> | undefined;
  private tableTimer: ReturnType<typeof setTimeout> | undefined;
  private lastWriteAt = 0;
  /** Bumped when the table is turned off, so a build already running does not install one. */
  private tableEpoch = 0;
  /** The last background neighbour-table failure, if any (background builds never throw). */
  lastTableError: unknown;
  /** Every vector, by slot: the one copy that search, training and the table build read. */
  private store: VectorStore;
  private capacity: number;
  private slotIds: (string | undefined)[] = [];
  private slotList: Int32Array;
  private slotPos: Int32Array;
  private readonly idToSlot = new Map<string, number>();
  private freeSlots: number[] = [];
  private nextSlot = 0;
  /** lists[0] holds everything while untrained. */
  private lists: number[][] = [[]];
  private centroids: Float32Array | undefined;
  private trainedAtSize = 0;
  /**
   * Stamped with a fresh write sequence number on every write to a slot, so training can spot
   * vectors changed mid-run and callers can cache per-item results ({@link IvfIndex.versionOf}).
   */
  private slotVersion: Float64Array;
  private writes = 0;
  private trainings = 0;
  /** Item id of write number w at w % CHANGE_LOG. */
  private readonly changeLog: string[] = new Array(CHANGE_LOG);
  private training: Promise<void> | undefined;
  /** The last background training failure, if any (background runs never throw). */
  lastTrainingError: unknown;

  constructor(options: IvfIndexOptions) {
    this.dim = positiveInt('dim', options.dim);
    this.options = {
      nlist: options.nlist ?? 'auto',
      nprobe: options.nprobe ?? 'auto',
      itemNprobe: options.itemNprobe ?? 'auto',
      trainThreshold: positiveInt('trainThreshold', options.trainThreshold ?? 4096),
      retrainGrowth: options.retrainGrowth ?? 4,
      autoTrain: options.autoTrain ?? true,
      kmeansIterations: positiveInt('kmeansIterations', options.kmeansIterations ?? 8),
      samplesPerList: positiveInt('samplesPerList', options.samplesPerList ?? 32),
      seed: options.seed ?? 1,
      neighborTable: options.neighborTable ?? false,
      precision: options.precision ?? 'float32',
    };
    if (this.options.precision !== 'float32' && this.options.precision !== 'int8') {
      throw new RangeError(
        `IvfIndex option "precision" must be 'float32' or 'int8', got ${String(this.options.precision)}`,
      );
    }
    if (this.options.neighborTable !== false) positiveInt('neighborTable', this.options.neighborTable);
    if (this.options.nlist !== 'auto') positiveInt('nlist', this.options.nlist);
    if (this.options.nprobe !== 'auto') positiveInt('nprobe', this.options.nprobe);
    if (this.options.itemNprobe !== 'auto') positiveInt('itemNprobe', this.options.itemNprobe);
    if (!(this.options.retrainGrowth > 1))
      throw new RangeError('IvfIndex option "retrainGrowth" must be > 1');
    this.capacity = 1024;
    this.store = new VectorStore(this.dim, this.options.precision, this.capacity);
    this.slotList = new Int32Array(this.capacity).fill(-1);
    this.slotPos = new Int32Array(this.capacity);
    this.slotVersion = new Float64Array(this.capacity);
  }

  /**
   * A number that changes whenever `itemId`'s vector is added, replaced or removed (−1 when
   * absent). Unique across the index's lifetime, so a cached result keyed on it is never revived by
   * a re-added item.
   */
  versionOf(itemId: string): number {
    const slot = this.idToSlot.get(itemId);
    return slot === undefined ? -1 : this.slotVersion[slot]!;
  }

  /**
   * Bumped when a training run swaps in new lists: approximate neighbour sets may change for every
   * item, so per-item caches keyed on {@link IvfIndex.versionOf} must also check this.
   */
  get generation(): number {
    return this.trainings;
  }

  /** Vector writes (adds, updates, removes) so far. */
  get writeCount(): number {
    return this.writes;
  }

  /**
   * Ids whose vectors were added, replaced or removed after write number `writes`, oldest first;
   * undefined when more than the last 1,024 writes would be needed (recompute instead).
   */
  changedSince(writes: number): string[] | undefined {
    if (writes > this.writes || this.writes - writes > CHANGE_LOG) return undefined;
    const out: string[] = [];
    for (let w = writes + 1; w <= this.writes; w++) out.push(this.changeLog[w % CHANGE_LOG]!);
    return out;
  }

  /**
   * The index as one checksummed buffer: vectors, slots, lists, centroids, training counters, the
   * change log and the neighbour table (when one is installed), as raw bytes, so
   * {@link IvfIndex.restore} answers every query exactly as this index does now. A training or
   * table build still running is not in it (the restored index starts its own when due).
   * @example writeFileSync('vectors.ivf', index.snapshot())
   */
  snapshot(): Uint8Array {
    const count = Math.min(this.writes, CHANGE_LOG);
    const recentWrites: string[] = [];
    for (let w = this.writes - count + 1; w <= this.writes; w++)
      recentWrites.push(this.changeLog[w % CHANGE_LOG]!);
    return encodeIvfState({
      dim: this.dim,
      nextSlot: this.nextSlot,
      store: this.store,
      slotVersion: this.slotVersion,
      slotIds: this.slotIds,
      order: Int32Array.from(this.idToSlot.values()),
      freeSlots: this.freeSlots,
      lists: this.lists,
      centroids: this.centroids,
      trainedAtSize: this.trainedAtSize,
      writes: this.writes,
      trainings: this.trainings,
      recentWrites,
      table: this.table,
    });
  }

  /**
   * Replaces this index's (empty) state with a {@link IvfIndex.snapshot}. Options stay this
   * index's own. Throws `EngineSnapshotError` when the bytes are torn, altered, of another format
   * or of another `dim`, and an `Error` when this index already holds vectors.
   * @example index.restore(readFileSync('vectors.ivf'))
   */
  restore(bytes: Uint8Array): void {
    if (this.writes > 0 || this.training !== undefined || this.tableBuild !== undefined) {
      throw new Error('IvfIndex.restore: the index must be empty (restore into a new index)');
    }
    const state = decodeIvfState(bytes, this.dim, this.options.precision, (n) =>
      Math.max(1024, n + (n >> 3)),
    );
    const capacity = state.slotVersion.length;
    this.capacity = capacity;
    this.store = state.store;
    this.slotVersion = state.slotVersion;
    this.slotIds = state.slotIds as (string | undefined)[];
    this.nextSlot = state.nextSlot;
    this.freeSlots = state.freeSlots as number[];
    this.lists = state.lists as number[][];
    this.centroids = state.centroids;
    this.trainedAtSize = state.trainedAtSize;
    this.writes = state.writes;
    this.trainings = state.trainings;
    this.table = state.table;
    this.slotList = new Int32Array(capacity).fill(-1);
    this.slotPos = new Int32Array(capacity);
    this.lists.forEach((list, l) => {
      for (let j = 0; j < list.length; j++) {
        this.slotList[list[j]!] = l;
        this.slotPos[list[j]!] = j;
      }
    });
    this.idToSlot.clear();
    for (const slot of state.order) this.idToSlot.set(state.slotIds[slot]!, slot);
    const first = this.writes - state.recentWrites.length + 1;
    state.recentWrites.forEach((id, i) => {
      this.changeLog[(first + i) % CHANGE_LOG] = id;
    });
    // Due work resumes as it would have in the snapshotted index (a training cut short by it).
    this.maybeAutoTrain();
    this.maybeScheduleTable();
  }

  /** Number of vectors stored. */
  get size(): number {
    return this.idToSlot.size;
  }

  /** Whether k-means lists exist (otherwise queries are exact scans). */
  get trained(): boolean {
    return this.centroids !== undefined;
  }

  /** Number of lists (1 while untrained). */
  get nlist(): number {
    return this.lists.length;
  }

  has(itemId: string): boolean {
    return this.idToSlot.has(itemId);
  }

  /** How the vectors are kept (see {@link IvfIndexOptions.precision}). */
  get precision(): VectorPrecision {
    return this.options.precision;
  }

  /** Bytes held by the stored vectors (without the neighbour table). */
  get vectorBytes(): number {
    return this.store.byteLength;
  }

  /** Bytes held by the neighbour table (0 without one). */
  get neighborTableBytes(): number {
    return this.table === undefined ? 0 : this.table.slots.byteLength + this.table.scores.byteLength;
  }

  /** A copy of the stored (normalised) vector, as float32. */
  get(itemId: string): Float32Array | undefined {
    const slot = this.idToSlot.get(itemId);
    if (slot === undefined) return undefined;
    return this.store.read(slot, new Float32Array(this.dim));
  }

  /**
   * The stored (normalised) vector: read-only, and valid only until the next add, remove or
   * training run, which may overwrite the slot or move the storage. Without a copy at float32
   * precision; at int8 a float32 copy (the stored bytes are not float32).
   */
  view(itemId: string): Float32Array | undefined {
    const slot = this.idToSlot.get(itemId);
    if (slot === undefined) return undefined;
    return this.store.view(slot);
  }

  /** Inserts or replaces the vector of `itemId`. The vector is copied and L2-normalised. */
  add(itemId: string, vector: Float32Array): void {
    if (vector.length !== this.dim) {
      throw new RangeError(
        `IvfIndex.add("${itemId}"): vector has ${vector.length} dims, index expects ${this.dim}`,
      );
    }
    let norm = 0;
    for (let i = 0; i < vector.length; i++) norm += vector[i]! * vector[i]!;
    if (!Number.isFinite(norm))
      throw new RangeError(`IvfIndex.add("${itemId}"): vector contains NaN or Infinity`);
    let slot = this.idToSlot.get(itemId);
    if (slot === undefined) {
      slot = this.freeSlots.pop() ?? this.nextSlot++;
      if (slot >= this.capacity) this.grow();
      this.idToSlot.set(itemId, slot);
      this.slotIds[slot] = itemId;
    } else {
      this.detach(slot);
    }
    this.slotVersion[slot] = ++this.writes;
    this.changeLog[this.writes % CHANGE_LOG] = itemId;
    this.store.put(slot, vector, norm > 0 ? 1 / Math.sqrt(norm) : 0);
    // Placed by the vector as stored (at int8, as read back), as training places it.
    this.attach(slot, this.centroids ? this.closestList(this.store.view(slot), 0) : 0);
    this.maybeAutoTrain();
    this.wrote();
  }

  /** Removes `itemId`; returns whether it was present. */
  remove(itemId: string): boolean {
    const slot = this.idToSlot.get(itemId);
    if (slot === undefined) return false;
    this.detach(slot);
    this.idToSlot.delete(itemId);
    this.slotIds[slot] = undefined;
    this.slotVersion[slot] = ++this.writes;
    this.changeLog[this.writes % CHANGE_LOG] = itemId;
    this.freeSlots.push(slot);
    this.wrote();
    return true;
  }

  /**
   * The k most similar items (cosine), best first. `filter` returning false
   * excludes an item; filtered queries keep probing lists until k pass.
   */
  nearest(query: Float32Array, k: number, filter?: (itemId: string) => boolean): Neighbor[] {
    return this.search(query, k, filter, this.nprobeFor(this.lists.length));
  }

  /**
   * The k items most similar to the stored item `itemId` (never itself), best first; empty when the
   * item has no vector. Scans `itemNprobe` lists (see {@link IvfIndexOptions.itemNprobe}).
   */
  neighborsOf(itemId: string, k: number, filter?: (itemId: string) => boolean): Neighbor[] {
    const slot = this.idToSlot.get(itemId);
    if (slot === undefined) return [];
    const keep = (other: string) => other !== itemId && (filter === undefined || filter(other));
    const fromTable = this.tableNeighbors(slot, k, keep);
    if (fromTable !== undefined) return fromTable;
    const query = this.store.read(slot, new Float32Array(this.dim));
    const lists = this.lists.length;
    return this.search(query, k, keep, Math.min(this.itemNprobe(lists), lists));
  }

  /** Row length of the neighbour table this index maintains (`false`: none). */
  get neighborTableLength(): number | false {
    return this.options.neighborTable;
  }

  /** Whether a neighbour table is in use (built for the current training and not too far behind). */
  get hasNeighborTable(): boolean {
    const t = this.table;
    return t !== undefined && t.generation === this.trainings && this.writes - t.writes <= CHANGE_LOG;
  }

  /**
   * Precomputes every stored item's `k` nearest neighbours (default: the `neighborTable` option)
   * with onnxruntime: for each list, its vectors against those of the lists nearest its centroid,
   * as one matrix product. Waits for a running training first. Resolves true when the table was
   * installed, false when there is nothing to build (index untrained) or a training started
   * meanwhile (its lists make this run moot).
   * Concurrent calls share one run.
   */
  buildNeighborTable(k?: number): Promise<boolean> {
    const rowLength = k ?? (this.options.neighborTable === false ? 0 : this.options.neighborTable);
    positiveInt('neighborTable', rowLength);
    this.tableBuild ??= this.runTableBuild(rowLength).finally(() => {
      this.tableBuild = undefined;
    });
    return this.tableBuild;
  }

  private async runTableBuild(k: number): Promise<boolean> {
    // Rows computed under lists a running training is about to replace would be thrown away.
    while (this.training !== undefined) await this.training.catch(() => undefined);
    const centroids = this.centroids;
    if (centroids === undefined) return false;
    const epoch = this.tableEpoch;
    const generation = this.trainings;
    const writes = this.writes;
    const rows = this.nextSlot;
    const { dim } = this;
    const slots = new Int32Array(rows * k).fill(-1);
    const scores = new Int16Array(rows * k);
    const nlist = this.lists.length;
    const probes = Math.min(this.itemNprobe(nlist), nlist);
    let queryBuffer = new Float32Array(0);
    let candidateBuffer = new Float32Array(0);
    for (let l = 0; l < nlist; l++) {
      const members = this.lists[l]!.filter((slot) => slot < rows);
      if (members.length === 0) continue;
      // Lists nearest this list's centroid: an item's own probe order differs little from it.
      const candidates = this.probeOrder(centroids.subarray(l * dim, (l + 1) * dim))
        .slice(0, probes)
        .flatMap((list) => this.lists[list]!);
      // Buffers reused across lists (grown when needed): a fresh few-MB pair per list fragments the
      // allocator's heap into resident memory that outlives the build.
      if (queryBuffer.length < members.length * dim) queryBuffer = new Float32Array(members.length * dim);
      if (candidateBuffer.length < candidates.length * dim) {
        candidateBuffer = new Float32Array(candidates.length * dim);
      }
      const queryMatrix = queryBuffer.subarray(0, members.length * dim);
      members.forEach((slot, i) => {
        this.store.read(slot, queryMatrix, i * dim);
      });
      const candidateMatrix = candidateBuffer.subarray(0, candidates.length * dim);
      candidates.forEach((slot, i) => {
        this.store.read(slot, candidateMatrix, i * dim);
      });
      const kk = Math.min(k + 1, candidates.length);
      const top = await topKDot(queryMatrix, candidateMatrix, dim, kk);
      // A training swapped lists and renumbered slots while we waited: these rows mean nothing now.
      if (this.trainings !== generation) return false;
      for (let r = 0; r < members.length; r++) {
        const base = members[r]! * k;
        let m = 0;
        for (let j = 0; j < kk && m < k; j++) {
          const other = candidates[top.indices[r * kk + j]!]!;
          if (other === members[r]) continue;
          slots[base + m] = other;
          scores[base + m] = Math.round(top.scores[r * kk + j]! * TABLE_SCORE_SCALE);
          m++;
        }
      }
    }
    if (this.tableEpoch !== epoch) return false;
    this.table = { k, generation, writes, rows, slots, scores };
    return true;
  }

  /**
   * The row of `slot` with the vectors written since the build re-scored and merged in; undefined
   * when there is no usable row (no table, built before the last training, the item itself changed
   * since, the change log no longer reaches back, or removals and `keep` left fewer than `k` of a
   * full row's entries, so a search could find better ones).
   */
  private tableNeighbors(slot: number, k: number, keep: (itemId: string) => boolean): Neighbor[] | undefined {
    const t = this.table;
    if (
      t === undefined ||
      t.generation !== this.trainings ||
      k > t.k ||
      slot >= t.rows ||
      this.slotVersion[slot]! > t.writes ||
      this.writes - t.writes > CHANGE_LOG
    ) {
      return undefined;
    }
    const out: Neighbor[] = [];
    const base = slot * t.k;
    let length = 0;
    for (; length < t.k; length++) {
      const other = t.slots[base + length]!;
      if (other < 0) break;
      // Rewritten or removed since the build: scored below from the change log, if still present.
      if (this.slotVersion[other]! > t.writes) continue;
      const itemId = this.slotIds[other];
      if (itemId !== undefined && keep(itemId)) {
        out.push({ itemId, score: t.scores[base + length]! / TABLE_SCORE_SCALE });
      }
    }
    if (this.writes > t.writes) {
      const seen = new Set<string>();
      const { store } = this;
      for (let w = t.writes + 1; w <= this.writes; w++) {
        const itemId = this.changeLog[w % CHANGE_LOG]!;
        if (seen.has(itemId)) continue;
        seen.add(itemId);
        const other = this.idToSlot.get(itemId);
        if (other === undefined || other === slot || !keep(itemId)) continue;
        out.push({ itemId, score: store.dotSlots(slot, other) });
      }
    }
    out.sort((a, b) => b.score - a.score || (a.itemId < b.itemId ? -1 : 1));
    // A full row says nothing about items scoring below its last entry: when dropped entries leave
    // a gap there, a search may find better ones.
    if (
      length === t.k &&
      (out.length < k || out[k - 1]!.score < t.scores[base + t.k - 1]! / TABLE_SCORE_SCALE)
    ) {
      return undefined;
    }
    return out.length > k ? out.slice(0, k) : out;
  }

  /** Schedules a background table build when one is configured and the table is missing or stale. */
  private wrote(): void {
    this.lastWriteAt = Date.now();
    this.maybeScheduleTable();
  }

  private maybeScheduleTable(): void {
    if (this.options.neighborTable === false || this.tableTimer !== undefined || this.tableBuild) return;
    if (this.centroids === undefined || this.training !== undefined) return;
    const t = this.table;
    const stale =
      t === undefined ||
      t.generation !== this.trainings ||
      t.k < this.options.neighborTable ||
      this.writes - t.writes > CHANGE_LOG / 2;
    if (!stale) return;
    const scheduledAt = Date.now();
    const wait = () => {
      // A bulk load is still writing: the table would be stale again before it is done.
      const quietFor = Date.now() - this.lastWriteAt;
      if (quietFor < TABLE_QUIET_MS && Date.now() - scheduledAt < TABLE_MAX_WAIT_MS) {
        this.tableTimer = setTimeout(wait, TABLE_QUIET_MS - quietFor);
        this.tableTimer.unref?.();
        return;
      }
      this.tableTimer = undefined;
      this.buildNeighborTable().then(
        () => this.maybeScheduleTable(),
        (err: unknown) => {
          this.lastTableError = err;
        },
      );
    };
    this.tableTimer = setTimeout(wait, TABLE_QUIET_MS);
    this.tableTimer.unref?.();
  }

  /**
   * Changes the row length of the neighbour table (`false`: stop maintaining one and free it). A
   * longer length schedules a rebuild; until it lands, longer requests search.
   */
  setNeighborTable(k: number | false): void {
    if (k !== false) positiveInt('neighborTable', k);
    this.options.neighborTable = k;
    if (k === false) {
      this.dispose();
      this.table = undefined;
      this.tableEpoch++;
    } else {
      this.maybeScheduleTable();
    }
  }

  /** Stops a pending background table build (for shutting down without a stray timer). */
  dispose(): void {
    clearTimeout(this.tableTimer);
    this.tableTimer = undefined;
  }

  private itemNprobe(lists: number): number {
    return this.options.itemNprobe === 'auto' ? Math.max(8, Math.ceil(lists / 20)) : this.options.itemNprobe;
  }

  private search(
    query: Float32Array,
    k: number,
    filter: ((itemId: string) => boolean) | undefined,
    nprobe: number,
  ): Neighbor[] {
    if (query.length !== this.dim) {
      throw new RangeError(`IvfIndex.nearest: query has ${query.length} dims, index expects ${this.dim}`);
    }
    if (!Number.isInteger(k) || k < 0)
      throw new RangeError(`IvfIndex.nearest: k must be a non-negative integer, got ${k}`);
    if (k === 0 || this.size === 0) return [];

    let norm = 0;
    for (let i = 0; i < query.length; i++) norm += query[i]! * query[i]!;
    const q = new Float32Array(this.dim);
    if (norm > 0) {
      const s = 1 / Math.sqrt(norm);
      for (let i = 0; i < this.dim; i++) q[i] = query[i]! * s;
    }

    const order = this.probeOrder(q);
    const top = new TopK(Math.min(k, this.size));
    const { store, slotIds, lists } = this;
    for (let p = 0; p < order.length; p++) {
      if (p >= nprobe && top.size >= top.k) break;
      const list = lists[order[p]!]!;
      for (let j = 0; j < list.length; j++) {
        const slot = list[j]!;
        const score = store.dot(q, 0, slot);
        if (score <= top.worst) continue;
        if (filter && !filter(slotIds[slot]!)) continue;
        top.push(score, slot);
      }
    }
    const out: Neighbor[] = [];
    for (let i = 0; i < top.size; i++) out.push({ itemId: slotIds[top.slots[i]!]!, score: top.scores[i]! });
    return out.sort((a, b) => b.score - a.score || (a.itemId < b.itemId ? -1 : 1));
  }

  /** True when training is due: past the threshold and never trained, or grown by `retrainGrowth` since. */
  needsTraining(): boolean {
    if (this.size < this.options.trainThreshold) return false;
    return this.centroids === undefined || this.size >= this.trainedAtSize * this.options.retrainGrowth;
  }

  /**
   * Runs spherical k-means on a sample and reassigns every vector to its list.
   * Heavy products run in onnxruntime, off the event loop; adds, updates and
   * removes made meanwhile are honoured (changed vectors are re-placed against
   * the new centroids). Queries keep using the previous lists until it ends.
   * Concurrent calls share one run.
   */
  train(): Promise<void> {
    if (this.training === undefined) {
      const run = this.runTraining().finally(() => {
        this.training = undefined;
      });
      this.training = run;
      // A bulk load can outgrow the run it triggered (lists sized for the first
      // few thousand vectors); chain one more run then. Failures never chain.
      run.then(
        () => {
          this.maybeAutoTrain();
          // The new lists renumbered every slot: the old table is gone, build one for them.
          this.maybeScheduleTable();
        },
        () => undefined,
      );
    }
    return this.training;
  }

  private maybeAutoTrain(): void {
    if (this.options.autoTrain && this.training === undefined && this.needsTraining()) {
      this.train().catch((err: unknown) => {
        this.lastTrainingError = err;
      });
    }
  }

  private async runTraining(): Promise<void> {
    const n = this.size;
    if (n === 0) return;
    const nlist =
      this.options.nlist === 'auto'
        ? Math.max(8, Math.min(4096, Math.round(Math.sqrt(n))))
        : this.options.nlist;
    const k = Math.min(nlist, n);
    const { dim } = this;
    const live = Array.from(this.idToSlot.values());
    const rand = mulberry32(this.options.seed);
    // Partial Fisher-Yates: a uniform sample without replacement.
    const sampleSize = Math.min(n, k * this.options.samplesPerList);
    for (let i = 0; i < sampleSize; i++) {
      const j = i + Math.floor(rand() * (n - i));
      const t = live[i]!;
      live[i] = live[j]!;
      live[j] = t;
    }
    const sample = new Float32Array(sampleSize * dim);
    for (let i = 0; i < sampleSize; i++) this.store.read(live[i]!, sample, i * dim);

    const centroids = new Float32Array(k * dim);
    centroids.set(sample.subarray(0, k * dim));
    const sums = new Float64Array(k * dim);
    const counts = new Int32Array(k);
    for (let iter = 0; iter < this.options.kmeansIterations; iter++) {
      const { assign, best } = await assignToCentroids(sample, centroids, dim);
      sums.fill(0);
      counts.fill(0);
      for (let i = 0; i < sampleSize; i++) {
        const c = assign[i]!;
        counts[c]!++;
        const so = i * dim;
        const co = c * dim;
        for (let d = 0; d < dim; d++) sums[co + d]! += sample[so + d]!;
      }
      // Empty lists are re-seeded with the worst-served points, so no list stays dead.
      const worstFirst = Array.from(best.keys()).sort((a, b) => best[a]! - best[b]!);
      let reseed = 0;
      for (let c = 0; c < k; c++) {
        const co = c * dim;
        if (counts[c] === 0) {
          const i = worstFirst[reseed++ % worstFirst.length]!;
          centroids.set(sample.subarray(i * dim, (i + 1) * dim), co);
          continue;
        }
        let norm = 0;
        for (let d = 0; d < dim; d++) norm += sums[co + d]! * sums[co + d]!;
        const s = norm > 0 ? 1 / Math.sqrt(norm) : 0;
        for (let d = 0; d < dim; d++) centroids[co + d] = sums[co + d]! * s;
      }
    }

    // Assign everything in chunks (bounded extra memory), remembering each
    // slot's version so vectors changed during the awaits are re-placed below.
    const all = Array.from(this.idToSlot.values());
    const planned = new Map<number, { list: number; version: number }>();
    const CHUNK = 8192;
    // One buffer for every chunk: allocating a fresh 8 MB one each time leaves the allocator's heap
    // fragmented, which shows as resident memory long after training.
    const chunkBuffer = new Float32Array(Math.min(CHUNK, all.length) * dim);
    for (let start = 0; start < all.length; start += CHUNK) {
      const slots = all.slice(start, start + CHUNK).filter((slot) => this.slotIds[slot] !== undefined);
      const chunk = chunkBuffer.subarray(0, slots.length * dim);
      const versions = slots.map((slot, i) => {
        this.store.read(slot, chunk, i * dim);
        return this.slotVersion[slot]!;
      });
      if (slots.length === 0) continue;
      const { assign } = await assignToCentroids(chunk, centroids, dim);
      for (let i = 0; i < slots.length; i++)
        planned.set(slots[i]!, { list: assign[i]!, version: versions[i]! });
    }

    // Swap in synchronously: no await from here on.
    this.centroids = centroids;
    this.lists = Array.from({ length: k }, () => []);
    this.slotList.fill(-1);
    for (const slot of this.idToSlot.values()) {
      const plan = planned.get(slot);
      const list =
        plan !== undefined && plan.version === this.slotVersion[slot]
          ? plan.list
          : this.closestList(this.store.view(slot), 0);
      this.attach(slot, list);
    }
    this.compactByList();
    this.trainedAtSize = n;
    this.trainings++;
    this.table = undefined;
  }

  /**
   * Renumbers slots so each list's vectors are contiguous in the store. A query scans whole lists;
   * reading them sequentially instead of from slots scattered over the whole array (insertion
   * order) lets the CPU prefetch, which is most of a scan's cost at 100k × 256. Vectors added
   * later are appended and scattered again until the next training.
   */
  private compactByList(): void {
    const { dim } = this;
    const n = this.idToSlot.size;
    // Room for growth of an eighth: enough for trickling adds, where doubling from a power of two
    // would leave up to half the vector storage (tens of MB) empty after a bulk load.
    const capacity = Math.max(1024, n + (n >> 3));
    const store = new VectorStore(dim, this.store.precision, capacity);
    const slotIds: (string | undefined)[] = new Array(n);
    const slotList = new Int32Array(capacity).fill(-1);
    const slotPos = new Int32Array(capacity);
    const slotVersion = new Float64Array(capacity);
    let next = 0;
    for (let l = 0; l < this.lists.length; l++) {
      const list = this.lists[l]!;
      for (let j = 0; j < list.length; j++) {
        const old = list[j]!;
        const id = this.slotIds[old]!;
        store.copySlot(this.store, old, next);
        slotIds[next] = id;
        slotList[next] = l;
        slotPos[next] = j;
        slotVersion[next] = this.slotVersion[old]!;
        this.idToSlot.set(id, next);
        list[j] = next;
        next++;
      }
    }
    this.store = store;
    this.slotIds = slotIds;
    this.slotList = slotList;
    this.slotPos = slotPos;
    this.slotVersion = slotVersion;
    this.capacity = capacity;
    this.freeSlots = [];
    this.nextSlot = next;
  }

  private nprobeFor(nlist: number): number {
    const p = this.options.nprobe === 'auto' ? Math.max(8, Math.ceil(nlist / 10)) : this.options.nprobe;
    return Math.min(p, nlist);
  }

  /** List indices sorted by centroid similarity to q, best first. */
  private probeOrder(q: Float32Array): number[] {
    const { centroids } = this;
    if (centroids === undefined) return [0];
    const k = this.lists.length;
    const scores = new Float64Array(k);
    for (let c = 0; c < k; c++) scores[c] = dot(q, 0, centroids, c * this.dim, this.dim);
    return Array.from(scores.keys()).sort((a, b) => scores[b]! - scores[a]!);
  }

  private closestList(v: Float32Array, off: number): number {
    const centroids = this.centroids!;
    let bestC = 0;
    let bestS = Number.NEGATIVE_INFINITY;
    for (let c = 0; c < this.lists.length; c++) {
      const s = dot(v, off, centroids, c * this.dim, this.dim);
      if (s > bestS) {
        bestS = s;
        bestC = c;
      }
    }
    return bestC;
  }

  private attach(slot: number, listIndex: number): void {
    const list = this.lists[listIndex]!;
    this.slotList[slot] = listIndex;
    this.slotPos[slot] = list.length;
    list.push(slot);
  }

  /** O(1) removal from its list: the last entry takes its place. */
  private detach(slot: number): void {
    const listIndex = this.slotList[slot]!;
    if (listIndex < 0) return;
    const list = this.lists[listIndex]!;
    const pos = this.slotPos[slot]!;
    const last = list.pop()!;
    if (last !== slot) {
      list[pos] = last;
      this.slotPos[last] = pos;
    }
    this.slotList[slot] = -1;
  }

  private grow(): void {
    const capacity = this.capacity * 2;
    const store = this.store.resized(capacity);
    const slotList = new Int32Array(capacity).fill(-1);
    slotList.set(this.slotList);
    const slotPos = new Int32Array(capacity);
    slotPos.set(this.slotPos);
    const slotVersion = new Float64Array(capacity);
    slotVersion.set(this.slotVersion);
    this.slotVersion = slotVersion;
    this.store = store;
    this.slotList = slotList;
    this.slotPos = slotPos;
    this.capacity = capacity;
  }
}
