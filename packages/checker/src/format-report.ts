/** A CheckReport as readable text (the CLI's output). */
import { type CheckReport, PARTIAL_CAUSES, PROPERTIES } from "./report.js";

/** A report as text for people: counts, then each violation with its events and peers. */
export function formatReport(report: CheckReport): string {
  const c = report.counts;
  const k = c.deliveriesByKind;
  const lines = [
    `peers ${c.peers} (${c.crashed} without close: killed, or still running), records ${c.records}`,
    `sends ${c.sends}, destroys ${c.destroys}, releases ${c.releases}, aborts ${c.aborts}, imports ${c.imports}, expiries ${c.expires}`,
    `deliveries ${c.deliveries} (message ${k.message}, destroyed ${k.destroyed}, released ${k.released}), reconciliations ${c.reconciles}`,
  ];
  const partial = report.partial;
  if (partial.events > 0) {
    const causes = PARTIAL_CAUSES.filter((cause) => (partial.missing[cause] ?? 0) > 0);
    lines.push(
      `partial multicasts ${partial.events} (${report.atomicity} atomicity), missing destinations by cause: ${causes.map((cause) => `${cause} ${partial.missing[cause]}`).join(", ")}`,
    );
  }
  const excused = Object.entries(report.excused);
  if (excused.length > 0)
    lines.push(
      `excused (expectations not checked, by reason; spec/trace.md): ${excused.map(([why, n]) => `${why} ${n}`).join(", ")}`,
    );
  const counts = PROPERTIES.filter((p) => report.violationCounts[p] > 0);
  if (counts.length === 0) {
    lines.push("OK: no violation");
    return lines.join("\n");
  }
  lines.push(`VIOLATIONS: ${counts.map((p) => `${p} ${report.violationCounts[p]}`).join(", ")}`);
  for (const v of report.violations) {
    lines.push(
      `  [${v.property}] ${v.message}  (events: ${v.events.join(", ")}; peers: ${v.peers.join(", ")})`,
    );
  }
  const shown = report.violations.length;
  const total = counts.reduce((n, p) => n + report.violationCounts[p], 0);
  if (shown < total) lines.push(`  ... and ${total - shown} more`);
  return lines.join("\n");
}
