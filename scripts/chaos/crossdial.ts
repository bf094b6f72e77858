/**
 * Minimal repro: two peers import each other's capability URL at the same moment (each dials the
 * other). No faults, nobody crashes; any `expire` in the traces is a spurious session end.
 *   tsx --conditions=@capbus/source scripts/chaos/crossdial.ts [runs]
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { TestKit } from "@capbus/testkit";

const runs = Number(process.argv[2] ?? 10);
let bad = 0;
for (let run = 0; run < runs; run++) {
  await using kit = new TestKit();
  const a = kit.spawn("A", new URL("./crossdial-peer.ts", import.meta.url));
  const b = kit.spawn("B", new URL("./crossdial-peer.ts", import.meta.url));
  await Promise.all([a.ready, b.ready]);
  a.tell({ other: b.urls.inbox });
  b.tell({ other: a.urls.inbox });
  const sent = await Promise.all([a.next("sent"), b.next("sent")]);
  await kit.stop();
  const expires = readdirSync(kit.traceDir)
    .flatMap((f) => readFileSync(join(kit.traceDir, f), "utf8").split("\n"))
    .filter((l) => l.includes('"op":"expire"')).length;
  if (expires > 0) bad++;
  console.log(`run ${run}: expires ${expires}, sends ${JSON.stringify(sent.map((s) => s.sent))}`);
}
console.log(`${bad}/${runs} runs had a spurious expiry`);
