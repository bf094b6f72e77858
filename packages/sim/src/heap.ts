/**
 * A binary min-heap of timed tasks ordered by (time, seq). `seq` is the insertion counter, so
 * tasks due at the same virtual time run in the order they were scheduled: runs stay deterministic.
 */

/** A task on the simulated clock: run at `time`, ties broken by `seq` (scheduling order). */
export interface Task {
  readonly time: number;
  readonly seq: number;
  /** What to run; undefined once cancelled or run, so the closure can be collected. */
  fn: (() => void) | undefined;
}

function before(x: Task, y: Task): boolean {
  return x.time < y.time || (x.time === y.time && x.seq < y.seq);
}

export class TaskHeap {
  private items: Task[] = [];

  get size(): number {
    return this.items.length;
  }

  peek(): Task | undefined {
    return this.items[0];
  }

  push(task: Task): void {
    const items = this.items;
    let i = items.length;
    items.push(task);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = items[parent]!;
      if (!before(task, p)) break;
      items[i] = p;
      i = parent;
    }
    items[i] = task;
  }

  pop(): Task | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (top === undefined || last === undefined || items.length === 0) return top;
    const n = items.length;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      let c = l;
      if (r < n && before(items[r]!, items[l]!)) c = r;
      const child = items[c]!;
      if (!before(child, last)) break;
      items[i] = child;
      i = c;
    }
    items[i] = last;
    return top;
  }

  /** Drops tasks matching `dead` and restores the heap property (used to shed cancelled timers). */
  removeWhere(dead: (t: Task) => boolean): void {
    const kept = this.items.filter((t) => !dead(t));
    kept.sort((x, y) => (before(x, y) ? -1 : 1));
    this.items = kept; // a sorted array is a valid heap
  }
}
