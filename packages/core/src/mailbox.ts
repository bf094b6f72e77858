/**
 * Delivered events waiting for the application: an unbounded FIFO with async iteration.
 * Order is already final when an event gets here.
 */
export class Mailbox<T> implements AsyncIterable<T> {
  readonly #items: T[] = [];
  /** Per item, a number handed back to `taken` (a quota charge): kept beside, not in an object. */
  readonly #charges: number[] = [];
  #head = 0;
  readonly #waiters: Array<(result: IteratorResult<T, undefined>) => void> = [];
  #ended = false;
  readonly #taken: ((item: T, charge: number) => void) | undefined;

  /** `taken` runs when the application takes an item (to release what it was charged). */
  constructor(taken?: (item: T, charge: number) => void) {
    this.#taken = taken;
  }

  get size(): number {
    return this.#items.length - this.#head;
  }

  push(item: T, charge = 0): void {
    if (this.#ended) return;
    const waiter = this.#waiters.shift();
    if (waiter) {
      this.#taken?.(item, charge);
      waiter({ value: item, done: false });
    } else {
      this.#items.push(item);
      this.#charges.push(charge);
    }
  }

  /** No more items: pending and future reads finish once the held items are read. */
  end(): void {
    this.#ended = true;
    for (const waiter of this.#waiters.splice(0)) waiter({ value: undefined, done: true });
  }

  /** The next item without waiting, if one is held. */
  poll(): T | undefined {
    if (this.#head >= this.#items.length) return undefined;
    const item = this.#items[this.#head] as T;
    const charge = this.#charges[this.#head] as number;
    this.#items[this.#head++] = undefined as T;
    this.#taken?.(item, charge);
    // Compact now and then so a long-lived mailbox does not keep a growing array of holes.
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items.splice(0, this.#head);
      this.#charges.splice(0, this.#head);
      this.#head = 0;
    }
    return item;
  }

  next(): Promise<IteratorResult<T, undefined>> {
    if (this.#head < this.#items.length) return Promise.resolve({ value: this.poll() as T, done: false });
    if (this.#ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  [Symbol.asyncIterator](): AsyncIterator<T, undefined> {
    return { next: () => this.next() };
  }
}
