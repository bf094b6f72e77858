/** Rows of the result table, the table itself, and the JSON written beside it. */
import type { Spread } from "./stats.js";

export interface Row {
  /** The item number (1-9). */
  readonly item: number;
  readonly label: string;
  /** ev/s, MB/s, rt/s, ms, B, frames/s, or x for a ratio. */
  readonly unit: string;
  readonly spread: Spread;
  /** e.g. ">= 1.0"; compared with the median. */
  readonly target?: string;
  readonly note?: string;
}

export function met(row: Row): boolean | undefined {
  if (!row.target) return undefined;
  const [op, value] = row.target.split(" ") as [string, string];
  const v = Number(value);
  return op === ">=" ? row.spread.median >= v : op === "<=" ? row.spread.median <= v : undefined;
}

function fmt(x: number, unit: string): string {
  if (!Number.isFinite(x)) return "-";
  if (unit === "x") return `${x.toFixed(2)}x`;
  if (unit === "ms") return x < 10 ? x.toFixed(3) : x.toFixed(1);
  if (Math.abs(x) >= 1e6) return `${(x / 1e6).toFixed(2)}M`;
  if (Math.abs(x) >= 1e4) return `${(x / 1e3).toFixed(1)}k`;
  if (Math.abs(x) >= 100) return x.toFixed(0);
  return x.toFixed(2);
}

export function table(rows: readonly Row[]): string {
  const head = ["#", "measurement", "unit", "min", "median", "max", "target", "met"];
  const body = rows.map((r) => {
    const ok = met(r);
    return [
      String(r.item),
      r.label,
      r.unit,
      fmt(r.spread.min, r.unit),
      fmt(r.spread.median, r.unit),
      fmt(r.spread.max, r.unit),
      r.target ?? "",
      ok === undefined ? "" : ok ? "yes" : "NO",
    ];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const right = new Set([3, 4, 5]);
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (right.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  return [line(head), line(widths.map((w) => "-".repeat(w))), ...body.map(line)].join("\n");
}

export function json(rows: readonly Row[], meta: Record<string, unknown>): string {
  return `${pretty({ ...meta, rows: rows.map((r) => ({ ...r, met: met(r) })) }, 0)}\n`;
}

const WIDTH = 110;

/**
 * JSON laid out the way the repository's formatter (biome) lays it out, so a run's output never
 * fails `npm run lint`: objects one key per line, arrays on one line when they fit, numbers
 * filled across lines when they do not, other arrays one item per line. Numbers keep 6 digits.
 */
function pretty(value: unknown, indent: number, column = indent): string {
  if (typeof value === "number")
    return Number.isFinite(value) ? String(Number(value.toPrecision(6))) : "null";
  if (value === undefined) return "null";
  if (typeof value !== "object" || value === null) return JSON.stringify(value);
  const pad = " ".repeat(indent + 2);
  const end = " ".repeat(indent);
  if (Array.isArray(value)) {
    if (value.length === 0) return "[]";
    const items = value.map((v) => pretty(v, indent + 2));
    const flat = `[${items.join(", ")}]`;
    // `column`: where the array starts on its line; a comma may follow it.
    if (!flat.includes("\n") && column + flat.length + 1 <= WIDTH) return flat;
    if (value.every((v) => typeof v === "number")) {
      const lines: string[] = [];
      let line = "";
      items.forEach((item, i) => {
        const last = i === items.length - 1;
        const next = line === "" ? item : `${line} ${item}`;
        if (line !== "" && pad.length + next.length + (last ? 0 : 1) > WIDTH) {
          lines.push(line);
          line = item;
        } else line = next;
        if (!last) line += ",";
      });
      lines.push(line);
      return `[\n${lines.map((l) => pad + l).join("\n")}\n${end}]`;
    }
    return `[\n${items.map((i) => pad + i).join(",\n")}\n${end}]`;
  }
  const entries = Object.entries(value).filter(([, v]) => v !== undefined);
  if (entries.length === 0) return "{}";
  const lines = entries.map(([k, v]) => {
    const head = `${pad}${JSON.stringify(k)}: `;
    return head + pretty(v, indent + 2, head.length);
  });
  return `{\n${lines.join(",\n")}\n${end}}`;
}
