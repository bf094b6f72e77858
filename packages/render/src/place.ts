/**
 * Where marks go along the time axis. Deliveries sit at their column (the rank of their final
 * timestamp). A local step (send, destroy, release, expire) has no timestamp of its own: it sits
 * between the deliveries its lane recorded it between, as far right as it can, that is just left
 * of the next delivery on its lane and of the first column of its own event, so arrows stay short.
 * Columns move apart only where a lane has more steps in a row than the room its own previous
 * delivery left: no two marks of a lane overlap, and a burst of sends does not stretch the others.
 */

/** One lane's records in its order: a delivery at a column, or a step whose event may have one. */
export type LaneItem =
  | { readonly kind: "delivery"; readonly column: number }
  | { readonly kind: "step"; readonly column: number | undefined };

export interface Placement {
  /** x of each column. */
  readonly columnX: readonly number[];
  /** x of each item, per lane, in the lanes' order. */
  readonly itemX: readonly (readonly number[])[];
  /** x just right of the last mark. */
  readonly end: number;
}

/** The steps of one lane that go just left of one column, and that lane's delivery before them. */
interface Run {
  count: number;
  /** Column of the lane's previous mark (a delivery, or the column of its previous run), -1 if none. */
  after: number;
}

export function place(
  lanes: readonly (readonly LaneItem[])[],
  columns: number,
  start: number,
  columnWidth: number,
  stepWidth: number,
): Placement {
  // group[l][i]: the step goes just left of column group[l][i] (`columns`: after the last one);
  // rank[l][i]: its place among the lane's steps there.
  const runs: Map<number, Run>[] = [];
  const group: number[][] = [];
  const rank: number[][] = [];
  lanes.forEach((items) => {
    const mine = new Map<number, Run>();
    const g = new Array<number>(items.length).fill(-1);
    const r = new Array<number>(items.length).fill(0);
    let prev = -1;
    let pending: number[] = [];
    const flush = (next: number) => {
      // Backwards, so a step never sits right of a later step of its lane.
      let bound = next;
      for (let k = pending.length - 1; k >= 0; k--) {
        const i = pending[k]!;
        const own = items[i]!.column;
        if (own !== undefined) bound = Math.min(bound, own);
        g[i] = Math.max(bound, prev + 1);
      }
      // A run starts after the lane's previous mark: its previous delivery, or the column the
      // lane's previous run of steps sits left of.
      let last = prev;
      for (const i of pending) {
        let run = mine.get(g[i]!);
        if (run === undefined) {
          run = { count: 0, after: last };
          mine.set(g[i]!, run);
        }
        r[i] = run.count++;
        last = g[i]!;
      }
      pending = [];
    };
    items.forEach((item, i) => {
      if (item.kind === "step") pending.push(i);
      else {
        flush(item.column);
        prev = item.column;
      }
    });
    flush(columns);
    runs.push(mine);
    group.push(g);
    rank.push(r);
  });

  // Left to right: a column is one width after the previous one, or further when a lane's run of
  // steps before it does not fit after that lane's previous delivery. Index `columns` is a virtual
  // column after the last, for steps after every delivery of their lane.
  const x = new Array<number>(columns + 1).fill(0);
  const needs = new Map<number, Run[]>();
  for (const mine of runs) {
    for (const [j, run] of mine) {
      const list = needs.get(j) ?? [];
      needs.set(j, list);
      list.push(run);
    }
  }
  for (let j = 0; j <= columns; j++) {
    let at = j === 0 ? start : x[j - 1]! + columnWidth;
    for (const run of needs.get(j) ?? []) {
      const room =
        run.after < 0 ? start + run.count * stepWidth : x[run.after]! + (run.count + 1) * stepWidth;
      at = Math.max(at, room);
    }
    x[j] = at;
  }

  const itemX = lanes.map((items, l) =>
    items.map((item, i) => {
      if (item.kind === "delivery") return x[item.column]!;
      const j = group[l]![i]!;
      return x[j]! - stepWidth * (runs[l]!.get(j)!.count - rank[l]![i]!);
    }),
  );
  return { columnX: x.slice(0, columns), itemX, end: x[columns]! };
}
