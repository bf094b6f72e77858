/**
 * A binary min-heap whose items know their place in it (`heapIndex`), so an item's key can change
 * and an item can leave from anywhere in O(log n). The queue keeps its entries here themselves:
 * no record per change to skip later, which cost 64 bytes an entry (issue 19).
 */
export interface HeapItem {
  /** The item's index in the heap; -1 when it is in none. Kept by the heap. */
  heapIndex: number;
}

export class IndexedHeap<T extends HeapItem> {
  readonly #items: T[] = [];
  readonly #less: (a: T, b: T) => boolean;

  constructor(less: (a: T, b: T) => boolean) {
    this.#less = less;
  }

  get size(): number {
    return this.#items.length;
  }

  peek(): T | undefined {
    return this.#items[0];
  }

  push(item: T): void {
    item.heapIndex = this.#items.length;
    this.#items.push(item);
    this.#up(item.heapIndex);
  }

  pop(): T | undefined {
    const top = this.#items[0];
    if (top !== undefined) this.remove(top);
    return top;
  }

  /** Take `item` out, wherever it is (a no-op if it is in no heap). */
  remove(item: T): void {
    const i = item.heapIndex;
    if (i < 0 || this.#items[i] !== item) return;
    item.heapIndex = -1;
    const last = this.#items.pop() as T;
    if (last === item) return;
    this.#place(last, i);
    this.update(last);
  }

  /** `item`'s key changed: move it to where it now belongs. */
  update(item: T): void {
    this.#down(this.#up(item.heapIndex));
  }

  #place(item: T, i: number): void {
    this.#items[i] = item;
    item.heapIndex = i;
  }

  /** Sift the item at `i` up; returns where it ends. */
  #up(i: number): number {
    const items = this.#items;
    const item = items[i] as T;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const above = items[parent] as T;
      if (!this.#less(item, above)) break;
      this.#place(above, i);
      i = parent;
    }
    this.#place(item, i);
    return i;
  }

  #down(i: number): void {
    const items = this.#items;
    const item = items[i] as T;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = l;
      if (l >= items.length) break;
      if (r < items.length && this.#less(items[r] as T, items[l] as T)) m = r;
      const child = items[m] as T;
      if (!this.#less(child, item)) break;
      this.#place(child, i);
      i = m;
    }
    this.#place(item, i);
  }
}
