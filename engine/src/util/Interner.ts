/** Maps string keys to dense integer ids so indexes can use typed arrays. */
export class Interner {
  private readonly ids = new Map<string, number>();
  private readonly keys: string[] = [];

  /** The id of `key`, creating one if needed. */
  intern(key: string): number {
    let id = this.ids.get(key);
    if (id === undefined) {
      id = this.keys.length;
      this.ids.set(key, id);
      this.keys.push(key);
    }
    return id;
  }

  /** The id of `key`, or undefined if it was never interned. */
  get(key: string): number | undefined {
    return this.ids.get(key);
  }

  /** The key behind an id. */
  keyOf(id: number): string {
    const key = this.keys[id];
    if (key === undefined) throw new Error(`Unknown interned id ${id}.`);
    return key;
  }

  get size(): number {
    return this.keys.length;
  }
}
