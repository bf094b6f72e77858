/**
 * capbus in real headless Chromium (Debian's `chromium`, driven by playwright-core): two pages and
 * a Node peer chat through the browser-chat example. The pages join the room by capability URL,
 * say things concurrently, and must see the room's multicasts in one order; one leaves (destroy),
 * the room is destroyed (destroy + release notifications); a third page that just goes away is
 * a crash the room sees at once. Then the pages' traces (kept in memory
 * by each page, read with page.evaluate) and the Node peer's are checked against P1-P6.
 *
 * `npm run test:browser` (part of `npm run test:full`); it fails when Chromium is missing.
 * Not in `npm test`, which is Node only.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { test } from "node:test";
import { checkTraces, formatReport, tracesFromRecords } from "@capbus/checker";
import { MemoryTraceSink, type TraceRecord } from "@capbus/trace";
import { type Browser, chromium, type Page } from "playwright-core";
import { startChatServer } from "../../examples/browser-chat/server.js";

const CHROMIUM = process.env.CAPBUS_CHROMIUM ?? "/usr/bin/chromium";
/** Without the background-networking flags Chromium's own connections fail on a closed network. */
const ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

const said = (page: Page) => page.locator("#log li.said").allTextContents();
const line = (page: Page, text: string) => page.locator("#log li", { hasText: text }).first().waitFor();
const pageTrace = (page: Page) =>
  page.evaluate(() => (globalThis as unknown as { capbusTrace: () => TraceRecord[] }).capbusTrace());

async function join(browser: Browser, url: string, name: string): Promise<Page> {
  // A context each: two separate "users", like two browser profiles.
  const page = await (await browser.newContext()).newPage();
  page.setDefaultTimeout(15_000);
  page.on("pageerror", (error) => console.error(`[${name}] page error:`, error));
  await page.goto(`${url}&name=${name}`);
  await page.locator("#status", { hasText: "joined as peer" }).waitFor();
  return page;
}

async function sayAll(page: Page, texts: readonly string[]): Promise<void> {
  for (const text of texts) {
    await page.fill("#text", text);
    await page.press("#text", "Enter");
  }
}

test("two pages and a Node peer chat in one global order; the traces check", async (t) => {
  assert.ok(
    existsSync(CHROMIUM),
    `Chromium not found at ${CHROMIUM}: install Debian's (apt-get install -y chromium; .ci/run does)`,
  );
  const nodeTrace = new MemoryTraceSink();
  const server = await startChatServer({ trace: nodeTrace });
  t.after(() => server.close());
  // playwright starts Chromium with a fresh, empty user-data-dir of its own and --headless.
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS, headless: true });
  t.after(() => browser.close());

  const alice = await join(browser, server.pageUrl, "alice");
  const bob = await join(browser, server.pageUrl, "bob");
  await line(alice, "bob joined; members: alice, bob");
  await line(bob, "bob joined; members: alice, bob");
  const ids = await Promise.all(
    [alice, bob].map(async (p) => (await p.locator("#status").textContent())?.split(" ").pop()),
  );
  for (const id of ids) assert.match(id ?? "", /^[a-z2-7]{52}$/, "a keyed (Ed25519) page peer");

  // Both pages talk at once: each room multicast reaches both pages, in one order.
  await Promise.all([sayAll(alice, ["a1", "a2", "a3"]), sayAll(bob, ["b1", "b2", "b3"])]);
  await line(alice, "bob: b3");
  await line(alice, "alice: a3");
  await line(bob, "bob: b3");
  await line(bob, "alice: a3");
  const seenByAlice = await said(alice);
  const seenByBob = await said(bob);
  assert.equal(seenByAlice.length, 6);
  assert.deepEqual(seenByBob, seenByAlice, "both pages see the conversation in the same order");
  for (const who of ["alice", "bob"]) {
    const own = seenByAlice.filter((s) => s.startsWith(`${who}:`));
    assert.deepEqual(
      own,
      [1, 2, 3].map((n) => `${who}: ${who[0]}${n}`),
      `${who}'s messages in her order`,
    );
  }

  // Carol joins, and her page goes away without leaving: on pagehide her peer aborts, so the
  // room applies the crash rules at once instead of after the 30 s grace of her session.
  const carol = await join(browser, server.pageUrl, "carol");
  await line(alice, "carol joined; members: alice, bob, carol");
  await line(carol, "carol joined; members: alice, bob, carol");
  const carolTrace = await pageTrace(carol);
  await carol.close({ runBeforeUnload: true });
  await line(alice, "carol left (crash)");
  await alice.fill("#text", "after carol");
  await alice.press("#text", "Enter");
  await alice.locator("#log li", { hasText: "alice: after carol" }).waitFor({ timeout: 5000 });

  // Bob leaves: his inbox is destroyed (he is told) and the room tells alice, in the order.
  await bob.click("#leave");
  await line(bob, "your inbox was destroyed");
  await line(alice, "bob left (destroyed)");

  // The room is destroyed: alice's handle to it dies, and the room lets go of her inbox.
  await server.room.close();
  await line(alice, "the room was destroyed (destroyed)");
  await line(alice, "the room released your inbox");

  const records = [...nodeTrace.all(), ...(await pageTrace(alice)), ...(await pageTrace(bob)), ...carolTrace];
  const multicasts = nodeTrace
    .all()
    .filter((r) => r.op === "send" && new Set(r.to).size === 2 && !r.to.includes(server.peerId));
  assert.ok(multicasts.length >= 6, "the room multicast to both pages at once");
  const traces = tracesFromRecords(records);
  assert.equal(traces.size, 4, "four peers traced");
  const report = checkTraces(traces);
  assert.ok(report.ok, formatReport(report));
  assert.ok(report.counts.deliveries >= 20, `deliveries checked: ${report.counts.deliveries}`);
});
