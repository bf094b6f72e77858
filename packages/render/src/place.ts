/**
 * Where marks go along the time axis. Deliveries sit at their column (the rank of their final
 * timestamp). A local step (send, destroy, release, expire) has no timestamp of its own: it sits
 * between the deliveries its lane recorded it between, as far right as it can, that is just left
 * of the next delivery on its lane and of the first column of its own event, so arrows stay short.
 * Columns move apart where steps need room: no two marks of a lane overlap.
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

export function place(
  lanes: readonly (readonly LaneItem[])[],
  columns: number,
  start: number,
  columnWidth: number,
  stepWidth: number,
): Placement {
  // group[l][i]: the step goes just left of column group[l][i] (`columns`: after the last one).
  const group = lanes.map((items) => {
    const out: number[] = new Array<number>(items.length).fill(-1);
    let prev = -1;
    let pending: number[] = [];
    const flush = (next: number) => {
      // Backwards, so a step never sits right of a later step of its lane.
      let bound = next;
      for (let k = pending.length - 1; k >= 0; k--) {
        const i = pending[k]!;
        const own = items[i]!.column;
        if (own !== undefined) bound = Math.min(bound, own);
        out[i] = Math.max(bound, prev + 1);
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
    return out;
  });

  const gap = new Array<number>(columns + 1).fill(0);
  const rank = lanes.map((items, l) => {
    const count = new Map<number, number>();
    return items.map((item, i) => {
      if (item.kind !== "step") return 0;
      const j = group[l]![i]!;
      const r = count.get(j) ?? 0;
      count.set(j, r + 1);
      gap[j] = Math.max(gap[j]!, r + 1);
      return r;
    });
  });

  const columnX: number[] = [];
  let cursor = start;
  for (let j = 0; j < columns; j++) {
    cursor += gap[j]! * stepWidth;
    columnX.push(cursor);
    cursor += columnWidth;
  }
  // A virtual column after the last, for steps after every delivery of their lane.
  const tailX = cursor - columnWidth + stepWidth * (gap[columns]! + 1);
  const xOf = (j: number) => (j < columns ? columnX[j]! : tailX);

  const itemX = lanes.map((items, l) => {
    const inGroup = new Map<number, number>();
    for (const j of group[l]!) if (j >= 0) inGroup.set(j, (inGroup.get(j) ?? 0) + 1);
    return items.map((item, i) => {
      if (item.kind === "delivery") return xOf(item.column);
      const j = group[l]![i]!;
      return xOf(j) - stepWidth * (inGroup.get(j)! - rank[l]![i]!);
    });
  });
  const end = Math.max(tailX, cursor);
  return { columnX, itemX, end };
}
