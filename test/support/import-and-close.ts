/**
 * A child for test/node.exit.test.ts: import the capability URL given as the argument with a
 * short dial timeout (giving up on it after 2 s in any case), close the peer, print what the
 * import ended with, and do nothing else: the process must then end by itself (nothing of the
 * failed dial left open).
 */
import { startPeer } from "@capbus/node";

const started = await startPeer({ listen: [], dialTimeoutMs: 300 });
let timer: NodeJS.Timeout | undefined;
const bound = new Promise<string>((resolve) => {
  timer = setTimeout(() => resolve("gave up"), 2000);
});
const imported = started.peer.import(process.argv[2] ?? "").then(
  () => "imported",
  (error: { code?: string }) => error.code ?? String(error),
);
console.log(await Promise.race([imported, bound]));
clearTimeout(timer);
await started.close();
