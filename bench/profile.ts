/**
 * Summarise V8 CPU profiles (`node --cpu-prof`): the functions with the most self time; and
 * sampled allocation profiles (`.heapprofile`, bench/paced.ts): bytes per event by function and
 * caller (give the event count).
 *   node --import tsx bench/profile.ts <file.cpuprofile | file.heapprofile | dir> [top=25] [events]
 * Percentages are of busy time (idle, GC and program time are shown apart).
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { functionName: string; url: string; lineNumber: number };
}
interface Profile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

export function summarise(file: string, top: number): string {
  const profile = JSON.parse(readFileSync(file, "utf8")) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    const frame = byId.get(id)?.callFrame;
    const url = frame?.url ? relative(process.cwd(), frame.url.replace(/^file:\/\//, "")) : "";
    const key = `${frame?.functionName || "(anonymous)"}  ${url}${url ? `:${(frame?.lineNumber ?? 0) + 1}` : ""}`;
    self.set(key, (self.get(key) ?? 0) + dt);
    total += dt;
  });
  const special = ["(idle)", "(garbage collector)", "(program)"];
  const busy = total - special.reduce((sum, s) => sum + (self.get(`${s}  `) ?? 0), 0);
  const lines = [`${file}: ${(total / 1e6).toFixed(2)} s sampled, ${(busy / 1e6).toFixed(2)} s busy`];
  for (const s of special)
    lines.push(`  ${s.padEnd(22)} ${(((self.get(`${s}  `) ?? 0) / total) * 100).toFixed(1)}% of all`);
  const rows = [...self.entries()].filter(([k]) => !special.some((s) => k === `${s}  `));
  rows.sort((a, b) => b[1] - a[1]);
  for (const [key, us] of rows.slice(0, top))
    lines.push(`  ${((us / busy) * 100).toFixed(1).padStart(5)}%  ${key}`);
  return lines.join("\n");
}

interface HeapNode {
  readonly callFrame: ProfileNode["callFrame"];
  readonly selfSize: number;
  readonly children: readonly HeapNode[];
}

/** A sampled allocation profile: bytes per event by function (and its caller), most first. */
export function summariseHeap(file: string, top: number, events: number): string {
  const { head } = JSON.parse(readFileSync(file, "utf8")) as { head: HeapNode };
  const self = new Map<string, number>();
  let total = 0;
  const name = (f: ProfileNode["callFrame"]) =>
    `${f.functionName || "(anonymous)"} ${f.url.split("/").slice(-2).join("/")}:${f.lineNumber + 1}`;
  const walk = (node: HeapNode, caller: string) => {
    const here = name(node.callFrame);
    if (node.selfSize > 0) {
      const key = `${here}  <  ${caller}`;
      self.set(key, (self.get(key) ?? 0) + node.selfSize);
      total += node.selfSize;
    }
    for (const child of node.children) walk(child, here);
  };
  walk(head, "");
  const lines = [`${file}: ${(total / 1024).toFixed(0)} KB sampled, ${(total / events).toFixed(0)} B/event`];
  const rows = [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, top);
  for (const [key, bytes] of rows) lines.push(`  ${(bytes / events).toFixed(0).padStart(6)} B/ev  ${key}`);
  return lines.join("\n");
}

const [target, top, events] = process.argv.slice(2);
if (target) {
  const files = statSync(target).isDirectory()
    ? readdirSync(target)
        .filter((f) => f.endsWith(".cpuprofile") || f.endsWith(".heapprofile"))
        .map((f) => join(target, f))
    : [target];
  for (const file of files) {
    const n = Number(top ?? 25);
    console.log(
      `${file.endsWith(".heapprofile") ? summariseHeap(file, n, Number(events ?? 1)) : summarise(file, n)}\n`,
    );
  }
}
