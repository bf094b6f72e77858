/**
 * A peer's incoming queue (spec/ordering.md §7). Entries are staged with a proposal and
 * later committed with a final that is never below it. The committed entry with the lowest
 * timestamp (compared as compareTimestamps does) is delivered only when no staged entry has a lower proposal: a staged entry's
 * final can only grow, so nothing can later slip in below a delivered event.
 */
import { type HeapItem, IndexedHeap } from "./heap.js";

export interface QueueEntry<T> extends HeapItem {
  readonly sender: string;
  readonly seq: number;
  /** The proposal while staged, the final once committed. */
  lamport: number;
  committed: boolean;
  readonly data: T;
}

export class IncomingQueue<T> {
  readonly #bySender = new Map<string, Map<number, QueueEntry<T>>>();
  // The entries themselves, by timestamp: a commit moves its entry, a removal takes it out.
  // compareTimestamps inlined: building two timestamp objects per comparison showed in profiles.
  readonly #heap = new IndexedHeap<QueueEntry<T>>((a, b) => {
    if (a.lamport !== b.lamport) return a.lamport < b.lamport;
    if (a.sender !== b.sender) return a.sender < b.sender;
    return a.seq < b.seq;
  });

  /** Entries held (staged or committed, not yet delivered). */
  get size(): number {
    return this.#heap.size;
  }

  /** Does any entry from `sender` wait here? */
  hasFrom(sender: string): boolean {
    return (this.#bySender.get(sender)?.size ?? 0) > 0;
  }

  /** `sender` is forgotten (its session ended): its index goes, if it holds nothing. */
  forget(sender: string): void {
    if (this.#bySender.get(sender)?.size === 0) this.#bySender.delete(sender);
  }

  get(sender: string, seq: number): QueueEntry<T> | undefined {
    return this.#bySender.get(sender)?.get(seq);
  }

  /** Add an entry, staged with a proposal or already committed with its final (fast path). */
  insert(sender: string, seq: number, lamport: number, committed: boolean, data: T): QueueEntry<T> {
    const entry: QueueEntry<T> = { sender, seq, lamport, committed, heapIndex: -1, data };
    let entries = this.#bySender.get(sender);
    if (!entries) {
      entries = new Map();
      this.#bySender.set(sender, entries);
    }
    entries.set(seq, entry);
    this.#heap.push(entry);
    return entry;
  }

  /** Commit a staged entry at `final` (the caller has checked final >= proposal). */
  commit(entry: QueueEntry<T>, final: number): void {
    entry.lamport = final;
    entry.committed = true;
    this.#heap.update(entry);
  }

  /** Drop an entry that will never be delivered (aborted round, lost sender). */
  remove(entry: QueueEntry<T>): void {
    const entries = this.#bySender.get(entry.sender);
    if (entries?.get(entry.seq) !== entry) return;
    // A sender's index stays when it empties (forget drops it): a sender whose every event is
    // delivered before the next emptied it each time, a new Map per event.
    entries.delete(entry.seq);
    this.#heap.remove(entry);
  }

  /** Staged entries from `sender`, oldest first. */
  staged(sender: string): QueueEntry<T>[] {
    const entries = this.#bySender.get(sender);
    return entries ? [...entries.values()].filter((e) => !e.committed) : [];
  }

  /** Remove and return the next deliverable entry, or undefined if the head is staged. */
  takeReady(): QueueEntry<T> | undefined {
    const head = this.#heap.peek();
    if (!head?.committed) return undefined;
    this.remove(head);
    return head;
  }
}
