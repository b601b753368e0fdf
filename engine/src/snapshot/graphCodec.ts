/**
 * A binary codec for the engine's in-memory object graph: primitives, arrays, plain objects, Maps,
 * Sets, typed arrays and instances of the classes registered by the caller. Shared references and
 * cycles are kept (an object seen twice is written once, then referred to by number), so indexes
 * that share the catalog or the config still share them after a restore.
 *
 * Anything else (a function, an unregistered class, a Date, a Symbol) is refused when writing: a
 * snapshot that silently dropped part of the state would serve different lists after a restart.
 *
 * Past the ~450-line guideline on purpose: the writer and the reader are one format, tag by tag;
 * each tag's encoding and decoding must change together, so they are kept in one file.
 */

const T_UNDEFINED = 0;
const T_NULL = 1;
const T_TRUE = 2;
const T_FALSE = 3;
const T_INT = 4;
const T_FLOAT = 5;
const T_STRING = 6;
const T_ARRAY = 7;
const T_OBJECT = 8;
const T_MAP = 9;
const T_SET = 10;
const T_TYPED = 11;
const T_INSTANCE = 12;
const T_REF = 13;
const T_HOLE = 14;
/** A string written before, by number (keys recur across indexes: user, session and tag keys). */
const T_STRING_REF = 15;
/**
 * An array of int32 numbers, as raw little-endian values (no tag per element): profiles, sessions and
 * lists hold hundreds of thousands of such arrays, and a restore decoding them one tagged value at a
 * time spent most of its time there.
 */
const T_INT32S = 16;
/** An array of numbers, not all int32, as raw little-endian float64 values. */
const T_FLOAT64S = 17;

type TypedArray =
  | Int8Array
  | Uint8Array
  | Uint8ClampedArray
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | Float32Array
  | Float64Array;
type TypedCtor = new (length: number) => TypedArray;
const TYPED: TypedCtor[] = [
  Int8Array,
  Uint8Array,
  Uint8ClampedArray,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  Float32Array,
  Float64Array,
];

// biome-ignore lint/suspicious/noExplicitAny: any class constructor
export type AnyClass = abstract new (...args: any[]) => unknown;

/** Thrown when bytes cannot be decoded (truncated, corrupt, written by another class set). */
export class GraphDecodeError extends Error {}

/**
 * Writes `root` and everything it reaches. `classes`: the classes whose instances may appear.
 * `reserve`: bytes left free at the start for the caller's header (saves copying the whole graph).
 */
export function encodeGraph(root: unknown, classes: readonly AnyClass[], reserve = 0): Buffer {
  const w = new GraphWriter(classes, reserve);
  w.value(root, 'root');
  return w.finish();
}

/** Reads what {@link encodeGraph} wrote, with the same `classes` in the same order. */
export function decodeGraph(bytes: Uint8Array, classes: readonly AnyClass[]): unknown {
  const r = new GraphReader(bytes, classes);
  const root = r.value();
  if (r.pos !== bytes.length) throw new GraphDecodeError(`trailing bytes after the graph at ${r.pos}`);
  return root;
}

class GraphWriter {
  private buf = Buffer.allocUnsafe(1 << 24);
  private view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
  private pos: number;
  private readonly seen = new Map<object, number>();
  private readonly classIds = new Map<unknown, number>();
  private readonly shapes = new Map<string, number>();
  private readonly strings = new Map<string, number>();
  /** The last shape written per prototype, to skip building a shape key for the common case. */
  private readonly lastShape = new Map<unknown, { keys: string[]; id: number }>();

  constructor(classes: readonly AnyClass[], reserve: number) {
    classes.forEach((c, i) => {
      this.classIds.set(c.prototype, i);
    });
    this.pos = reserve;
  }

  finish(): Buffer {
    return this.buf.subarray(0, this.pos);
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let cap = this.buf.length * 4;
    while (cap < this.pos + n) cap *= 2;
    const next = Buffer.allocUnsafe(cap);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
    this.view = new DataView(next.buffer, next.byteOffset, next.byteLength);
  }

  private u8(v: number): void {
    this.ensure(1);
    this.buf[this.pos++] = v;
  }

  private u32(v: number): void {
    this.ensure(4);
    this.view.setUint32(this.pos, v, true);
    this.pos += 4;
  }

  private string(s: string): void {
    this.ensure(4 + s.length * 3);
    const n = this.buf.write(s, this.pos + 4, 'utf8');
    this.view.setUint32(this.pos, n, true);
    this.pos += 4 + n;
  }

  value(v: unknown, where: string): void {
    switch (typeof v) {
      case 'undefined':
        this.u8(T_UNDEFINED);
        return;
      case 'boolean':
        this.u8(v ? T_TRUE : T_FALSE);
        return;
      case 'number':
        this.ensure(9);
        if ((v | 0) === v && !Object.is(v, -0)) {
          this.buf[this.pos] = T_INT;
          this.view.setInt32(this.pos + 1, v, true);
          this.pos += 5;
        } else {
          this.buf[this.pos] = T_FLOAT;
          this.view.setFloat64(this.pos + 1, v, true);
          this.pos += 9;
        }
        return;
      case 'string': {
        const known = this.strings.get(v);
        if (known !== undefined) {
          this.u8(T_STRING_REF);
          this.u32(known);
        } else {
          this.strings.set(v, this.strings.size);
          this.u8(T_STRING);
          this.string(v);
        }
        return;
      }
      case 'object':
        if (v === null) this.u8(T_NULL);
        else this.object(v, where);
        return;
      default:
        throw new Error(`snapshot: cannot store a ${typeof v} (at ${where}).`);
    }
  }

  private object(o: object, where: string): void {
    const ref = this.seen.get(o);
    if (ref !== undefined) {
      this.u8(T_REF);
      this.u32(ref);
      return;
    }
    this.seen.set(o, this.seen.size);
    if (Array.isArray(o)) {
      const numbers = numberArrayKind(o);
      if (numbers !== undefined) {
        this.numbers(o as number[], numbers);
        return;
      }
      this.u8(T_ARRAY);
      this.u32(o.length);
      for (let i = 0; i < o.length; i++) {
        if (!(i in o)) this.u8(T_HOLE);
        else this.value(o[i], where);
      }
      return;
    }
    if (o instanceof Map) {
      this.u8(T_MAP);
      this.u32(o.size);
      for (const [k, v] of o) {
        this.value(k, where);
        this.value(v, where);
      }
      return;
    }
    if (o instanceof Set) {
      this.u8(T_SET);
      this.u32(o.size);
      for (const v of o) this.value(v, where);
      return;
    }
    if (ArrayBuffer.isView(o)) {
      const kind = TYPED.findIndex((c) => o instanceof c);
      if (kind < 0) throw new Error(`snapshot: cannot store a ${o.constructor.name} (at ${where}).`);
      const a = o as TypedArray;
      this.u8(T_TYPED);
      this.u8(kind);
      this.u32(a.length);
      this.ensure(a.byteLength);
      this.buf.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), this.pos);
      this.pos += a.byteLength;
      return;
    }
    const proto = Object.getPrototypeOf(o);
    if (proto === Object.prototype || proto === null) {
      this.u8(T_OBJECT);
    } else {
      const id = this.classIds.get(proto);
      if (id === undefined) {
        throw new Error(
          `snapshot: instances of ${(proto as { constructor?: { name?: string } }).constructor?.name ?? 'an unknown class'} are not registered for snapshots (at ${where}).`,
        );
      }
      this.u8(T_INSTANCE);
      this.u32(id);
      where = (proto as { constructor: { name: string } }).constructor.name;
    }
    const keys = Object.keys(o);
    this.shape(proto, keys);
    const rec = o as Record<string, unknown>;
    for (const k of keys) {
      const v = rec[k];
      // The field's name goes into the message only when it is needed (no string per field).
      if (typeof v === 'function' || typeof v === 'symbol' || typeof v === 'bigint') {
        throw new Error(`snapshot: cannot store a ${typeof v} (at ${where}.${k}).`);
      }
      this.value(v, where);
    }
  }

  private numbers(a: number[], kind: typeof T_INT32S | typeof T_FLOAT64S): void {
    const n = a.length;
    const width = kind === T_INT32S ? 4 : 8;
    this.ensure(5 + n * width);
    this.buf[this.pos] = kind;
    this.view.setUint32(this.pos + 1, n, true);
    let at = this.pos + 5;
    const { view } = this;
    if (kind === T_INT32S) for (let i = 0; i < n; i++, at += 4) view.setInt32(at, a[i]!, true);
    else for (let i = 0; i < n; i++, at += 8) view.setFloat64(at, a[i]!, true);
    this.pos = at;
  }

  /** Writes the number of an object's key list; a list seen first is written out after a marker. */
  private shape(proto: unknown, keys: string[]): void {
    const last = this.lastShape.get(proto);
    if (last !== undefined && sameKeys(last.keys, keys)) {
      this.u32(last.id);
      return;
    }
    const shapeKey = keys.join('\0');
    let id = this.shapes.get(shapeKey);
    if (id !== undefined) {
      this.u32(id);
    } else {
      // A new shape: its number (the next one) is implied, its keys follow.
      id = this.shapes.size;
      this.u32(0xffffffff);
      this.shapes.set(shapeKey, id);
      this.u32(keys.length);
      for (const k of keys) this.string(k);
    }
    this.lastShape.set(proto, { keys, id });
  }
}

/**
 * T_INT32S or T_FLOAT64S when `a` is a non-empty array of numbers without holes, else undefined. An
 * array of int32 numbers is read back as one of small integers, any other as one of doubles, as V8
 * keeps them.
 */
function numberArrayKind(a: unknown[]): typeof T_INT32S | typeof T_FLOAT64S | undefined {
  if (a.length === 0) return undefined;
  let ints = true;
  for (let i = 0; i < a.length; i++) {
    const v = a[i];
    if (typeof v !== 'number') return undefined; // a hole reads as undefined too
    if (ints && ((v | 0) !== v || Object.is(v, -0))) ints = false;
  }
  return ints ? T_INT32S : T_FLOAT64S;
}

function sameKeys(a: string[], b: string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Arrays up to this length are allocated at their size when read (see T_ARRAY in the reader). */
const SMALL_ARRAY = 1024;

/** Makes an object of one shape and class: registers it, then reads its fields in order. */
type ObjectMaker = new (read: () => unknown, objects: unknown[]) => object;

/** Plain identifier keys; anything else (`__proto__` above all) is assigned by the generic path. */
const SAFE_KEY = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/**
 * A constructor for objects of one shape with prototype `proto`, or null when a key is not a plain
 * identifier. Objects made by assigning keys one by one to `Object.create(proto)` go through a
 * generic keyed store per field and keep most fields out of the object; a constructor that assigns
 * each field by name lets V8 size the object for its fields and store them directly, which at a
 * million objects per restore is several times faster. `instanceof` and methods are unchanged: the
 * constructor's prototype is the class's own.
 */
function objectMaker(keys: readonly string[], proto: object): ObjectMaker | null {
  if (!keys.every((k) => SAFE_KEY.test(k) && k !== '__proto__')) return null;
  const body = ['objects.push(this);', ...keys.map((k) => `this.${k} = read();`)].join('\n');
  const Make = new Function('read', 'objects', body) as ObjectMaker;
  Make.prototype = proto;
  return Make;
}

class GraphReader {
  pos = 0;
  private readonly buf: Buffer;
  private readonly view: DataView;
  private readonly objects: unknown[] = [];
  private readonly strings: string[] = [];
  private readonly shapes: string[][] = [];
  /** Per shape, its constructor per class (index + 1; 0: plain objects); null: none can be made. */
  private readonly makers: Array<Array<ObjectMaker | null>> = [];
  private readonly protos: object[];
  private readonly read = () => this.value();
  /** Numbers of the array being read (see {@link GraphReader.numbers}). */
  private ints: number[] = new Array<number>(1024).fill(0);
  private doubles: number[] = new Array<number>(1024).fill(0.5);

  constructor(bytes: Uint8Array, classes: readonly AnyClass[]) {
    this.buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.protos = classes.map((c) => c.prototype as object);
  }

  private need(n: number): void {
    if (this.pos + n > this.buf.length) throw new GraphDecodeError(`truncated at byte ${this.pos}`);
  }

  private u8(): number {
    this.need(1);
    return this.buf[this.pos++]!;
  }

  private u32(): number {
    this.need(4);
    const v = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }

  private string(): string {
    const n = this.u32();
    this.need(n);
    const s = this.buf.toString('utf8', this.pos, this.pos + n);
    this.pos += n;
    return s;
  }

  /**
   * Reads a T_INT32S or T_FLOAT64S array into a scratch array of small integers or of doubles, and
   * returns an exact-size copy of the same kind: one copy, no spare room, no growing.
   */
  private numbers(tag: number): number[] {
    const n = this.u32();
    const width = tag === T_INT32S ? 4 : 8;
    this.need(n * width);
    const { view } = this;
    let at = this.pos;
    let scratch: number[];
    if (tag === T_INT32S) {
      if (this.ints.length < n) this.ints = new Array<number>(n).fill(0);
      scratch = this.ints;
      for (let i = 0; i < n; i++, at += 4) scratch[i] = view.getInt32(at, true);
    } else {
      if (this.doubles.length < n) this.doubles = new Array<number>(n).fill(0.5);
      scratch = this.doubles;
      for (let i = 0; i < n; i++, at += 8) scratch[i] = view.getFloat64(at, true);
    }
    this.pos = at;
    return scratch.slice(0, n);
  }

  value(): unknown {
    const tag = this.u8();
    switch (tag) {
      case T_UNDEFINED:
        return undefined;
      case T_NULL:
        return null;
      case T_TRUE:
        return true;
      case T_FALSE:
        return false;
      case T_INT: {
        this.need(4);
        const v = this.view.getInt32(this.pos, true);
        this.pos += 4;
        return v;
      }
      case T_FLOAT: {
        this.need(8);
        const v = this.view.getFloat64(this.pos, true);
        this.pos += 8;
        return v;
      }
      case T_STRING: {
        const v = this.string();
        this.strings.push(v);
        return v;
      }
      case T_STRING_REF: {
        const v = this.strings[this.u32()];
        if (v === undefined) throw new GraphDecodeError(`reference to unknown string at ${this.pos - 4}`);
        return v;
      }
      case T_REF: {
        const id = this.u32();
        if (id >= this.objects.length) throw new GraphDecodeError(`reference to unknown object ${id}`);
        return this.objects[id];
      }
      case T_ARRAY: {
        const n = this.u32();
        // Exact size: an array grown by push keeps spare room (17 slots for one element), which a
        // restored engine would carry in every profile and session (see `UserProfile.trim`). Past
        // SMALL_ARRAY, `new Array(n)` makes a slow (dictionary) array, so large ones are pushed.
        const a: unknown[] = n <= SMALL_ARRAY ? new Array(n) : [];
        this.objects.push(a);
        for (let i = 0; i < n; i++) {
          if (this.buf[this.pos] === T_HOLE) {
            this.pos++;
            if (n > SMALL_ARRAY) a.length = i + 1;
          } else if (n <= SMALL_ARRAY) {
            a[i] = this.value();
          } else {
            a.push(this.value());
          }
        }
        return a;
      }
      case T_INT32S:
      case T_FLOAT64S: {
        const a = this.numbers(tag);
        this.objects.push(a);
        return a;
      }
      case T_MAP: {
        const n = this.u32();
        const m = new Map<unknown, unknown>();
        this.objects.push(m);
        for (let i = 0; i < n; i++) {
          const k = this.value();
          m.set(k, this.value());
        }
        return m;
      }
      case T_SET: {
        const n = this.u32();
        const s = new Set<unknown>();
        this.objects.push(s);
        for (let i = 0; i < n; i++) s.add(this.value());
        return s;
      }
      case T_TYPED: {
        const Ctor = TYPED[this.u8()];
        if (Ctor === undefined) throw new GraphDecodeError(`unknown typed array kind at ${this.pos - 1}`);
        const length = this.u32();
        const a = new Ctor(length);
        this.need(a.byteLength);
        new Uint8Array(a.buffer).set(this.buf.subarray(this.pos, this.pos + a.byteLength));
        this.pos += a.byteLength;
        this.objects.push(a);
        return a;
      }
      case T_OBJECT:
      case T_INSTANCE: {
        const classIndex = tag === T_OBJECT ? -1 : this.u32();
        const proto = classIndex < 0 ? Object.prototype : this.protos[classIndex];
        if (proto === undefined) throw new GraphDecodeError(`unknown class at ${this.pos - 4}`);
        let shape = this.u32();
        if (shape === 0xffffffff) {
          const n = this.u32();
          const keys: string[] = [];
          for (let i = 0; i < n; i++) keys.push(this.string());
          shape = this.shapes.length;
          this.shapes.push(keys);
          this.makers.push([]);
        }
        const keys = this.shapes[shape];
        if (keys === undefined) throw new GraphDecodeError(`unknown object shape ${shape}`);
        const makers = this.makers[shape]!;
        let Make = makers[classIndex + 1];
        if (Make === undefined) {
          Make = objectMaker(keys, proto);
          makers[classIndex + 1] = Make;
        }
        if (Make !== null) return new Make(this.read, this.objects);
        // Keys a generated constructor cannot assign safely: one at a time, `__proto__` as an own
        // property (as it was written), never as the object's prototype.
        const o = Object.create(proto) as Record<string, unknown>;
        this.objects.push(o);
        for (const k of keys) {
          const v = this.value();
          if (k === '__proto__') {
            Object.defineProperty(o, k, { value: v, writable: true, enumerable: true, configurable: true });
          } else {
            o[k] = v;
          }
        }
        return o;
      }
      default:
        throw new GraphDecodeError(`unknown tag ${tag} at byte ${this.pos - 1}`);
    }
  }
}
