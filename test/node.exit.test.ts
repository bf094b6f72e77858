/**
 * A closed peer leaves nothing open: after an import whose owner never answers (a listener that
 * accepts and says nothing, as a SIGSTOPped peer's kernel does) fails and `close()` returns, the
 * process ends by itself. Before, the dial's socket stayed open and Node never exited.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { runScript } from "./support/run-script.js";

const scratch = mkdtempSync(join(tmpdir(), "capbus-exit-"));
after(() => rmSync(scratch, { recursive: true, force: true }));

/** Accepts connections and never answers; closes them when the test ends. */
async function silent(listen: (server: Server, ready: () => void) => void) {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => sockets.add(socket));
  await new Promise<void>((resolve) => listen(server, resolve));
  return {
    server,
    close: () => {
      for (const socket of sockets) socket.destroy();
      server.close();
    },
  };
}

const SECRET = "A".repeat(22);
/** The child's start-up (tsx) plus its 300 ms dial timeout; a leak keeps it alive until SIGKILL. */
const EXIT_WITHIN_MS = 20_000;

test("a failed import over ws to a silent owner, then close: the process exits by itself", async () => {
  const owner = await silent((server, ready) => server.listen(0, "127.0.0.1", ready));
  try {
    const port = (owner.server.address() as { port: number }).port;
    const r = await runScript(
      "test/support/import-and-close.ts",
      [`capbus://127.0.0.1:${port}/p/${SECRET}`],
      EXIT_WITHIN_MS,
    );
    assert.equal(r.code, 0, `the child did not exit by itself (killed): ${r.stdout}${r.stderr}`);
    assert.equal(r.stdout.trim(), "E_UNREACHABLE");
  } finally {
    owner.close();
  }
});

test("a failed import over a Unix socket to a silent owner, then close: the process exits by itself", async () => {
  const path = join(scratch, "silent.sock");
  const owner = await silent((server, ready) => server.listen(path, ready));
  try {
    const url = `capbus+unix://${path}/p/${SECRET}`;
    const r = await runScript("test/support/import-and-close.ts", [url], EXIT_WITHIN_MS);
    assert.equal(r.code, 0, `the child did not exit by itself (killed): ${r.stdout}${r.stderr}`);
    // The socket connects (the kernel accepts) but no hello ever comes: the dial timeout still
    // ends the import, and close() leaves nothing of the half-made link.
    assert.equal(r.stdout.trim(), "E_UNREACHABLE");
  } finally {
    owner.close();
  }
});
