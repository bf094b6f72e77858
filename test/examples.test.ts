/** The runnable examples: each is run as `npm run example:<name>` runs it, and its output checked. */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { test } from "node:test";
import { ROOT, runScript } from "./support/run-script.js";

test("examples/chat: members join by URL, talk in one order, and a leave is announced", async () => {
  const r = await runScript("examples/chat/main.ts");
  assert.equal(r.code, 0, r.stderr + r.stdout);
  assert.match(r.stdout, /room: lobby at capbus:\/\//);
  assert.match(
    r.stdout,
    /ann saw:\n {2}\* ann joined\n {2}\* bob joined\n {2}\* cat joined\n {2}<ann> hi all/,
  );
  assert.match(r.stdout, /\* cat left\n {2}<ann> see you cat/);
  assert.match(r.stdout, /ann and bob agree on the order: true/);
});

test("examples/power-events: every subscriber sees the same events in the same order", async () => {
  const r = await runScript("examples/power-events/main.ts", ["5"]);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  assert.match(r.stdout, /5 subscribers\nsubscriber-5 left; 4 subscribers now/);
  assert.match(r.stdout, /all 4 remaining subscribers saw the same 9 events in the same order: true/);
});

test("examples/object-passing: the handle travels the chain; the destroy reaches everyone", async () => {
  const r = await runScript("examples/object-passing/main.ts", ["3"]);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  assert.match(r.stdout, /peer-2 passed it to peer-3/);
  assert.match(r.stdout, /owner received \{"text":"hello from peer-3"\} straight from peer-3/);
  for (const who of ["owner", "peer-1", "peer-2", "peer-3"])
    assert.match(r.stdout, new RegExp(`${who}: destroyed \\(reason destroyed`));
  assert.match(r.stdout, /writing after the destroy: E_DESTROYED/);
  assert.match(r.stdout, /everyone was told: true/);
});

/** Start a repository script under tsx; its stdout lines as they come, its end. */
function startScript(script: string, args: readonly string[] = [], env: NodeJS.ProcessEnv = {}) {
  const child = spawn(process.execPath, ["--conditions=@capbus/source", "--import", "tsx", script, ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const seen: string[] = [];
  const lines = createInterface({ input: child.stdout });
  lines.on("line", (line) => {
    output += `${line}\n`;
    seen.push(line);
  });
  child.stderr.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  const ended = new Promise<number | null>((resolve) => child.on("close", resolve));
  /** The first stdout line matching `pattern` (already printed, or still to come). */
  const line = (pattern: RegExp) =>
    new Promise<string>((resolve, reject) => {
      const printed = seen.find((text) => pattern.test(text));
      if (printed !== undefined) return resolve(printed);
      lines.on("line", (text) => {
        if (pattern.test(text)) resolve(text);
      });
      void ended.then(() => reject(new Error(`${script} ended without ${pattern}:\n${output}`)));
    });
  return { child, line, ended, output: () => output };
}

test("examples/browser-chat: Ctrl-C stops within seconds even when a member does not answer", {
  timeout: 90_000,
}, async () => {
  const server = startScript("examples/browser-chat/serve.ts", [], { PORT: "0" });
  try {
    const url = (await server.line(/^room capability URL: /)).replace(/^room capability URL: /, "");
    const sleepy = startScript("test/support/chat-member.ts", [url]);
    try {
      await sleepy.line(/^joined$/);
      await server.line(/sleepy joined/);
      sleepy.child.kill("SIGSTOP"); // holds the room's handle, answers nothing
      const stopped = performance.now();
      server.child.kill("SIGINT");
      const code = await server.ended;
      const ms = performance.now() - stopped;
      assert.equal(code, 0, server.output());
      assert.match(server.output(), /destroying the room \.\.\.\na member did not answer within 2000 ms/);
      assert.ok(ms < 10_000, `Ctrl-C took ${Math.round(ms)} ms`);
    } finally {
      sleepy.child.kill("SIGKILL");
    }
  } finally {
    server.child.kill("SIGKILL");
  }
});
