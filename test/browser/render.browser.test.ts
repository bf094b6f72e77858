/**
 * The page of `capbus trace render` in real headless Chromium (Debian's `chromium`, driven by
 * playwright-core): it loads from a file with no console or page error, has a lane per peer and an
 * arrow per delivery in the DOM, its peer and node filters hide what they should, zoom changes the
 * view, and a run that breaks P1 shows its violations in red. Screenshots go to /tmp/render-*.png.
 *
 * `npm run test:browser` (part of `npm run test:full`); skipped, saying why, without Chromium.
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { pathToFileURL } from "node:url";
import { checkTraces } from "@capbus/checker";
import { type Layout, layoutRun, renderHtml } from "@capbus/render";
import { type Browser, chromium, type Page } from "playwright-core";
import { TraceBuilder } from "../../packages/checker/test/builder.js";
import { runWorkload } from "../support/workload.js";

const CHROMIUM = process.env.CAPBUS_CHROMIUM ?? "/usr/bin/chromium";
const ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"];
const SKIP = existsSync(CHROMIUM)
  ? false
  : `Chromium not found at ${CHROMIUM}: install Debian's (apt-get install -y chromium) or set CAPBUS_CHROMIUM`;

/** The page's window, typed here (the project compiles without the DOM library). */
type Win = { getComputedStyle(el: unknown): { display: string; stroke: string } };

const scratch = mkdtempSync(join(tmpdir(), "capbus-render-page-"));
after(() => rmSync(scratch, { recursive: true, force: true }));

/** Opens a rendered page and collects every console error and uncaught page error. */
async function open(
  browser: Browser,
  layout: Layout,
  name: string,
): Promise<{ page: Page; errors: string[] }> {
  const file = join(scratch, `${name}.html`);
  writeFileSync(file, renderHtml(layout));
  const page = await browser.newPage({ viewport: { width: 1400, height: 800 } });
  page.setDefaultTimeout(15_000);
  const errors: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(`console: ${m.text()}`);
  });
  page.on("pageerror", (e) => errors.push(`page: ${e.message}`));
  // Anything fetched from elsewhere would break "one self-contained file".
  page.on("request", (r) => {
    if (!r.url().startsWith("file:")) errors.push(`request: ${r.url()}`);
  });
  await page.goto(pathToFileURL(file).href);
  return { page, errors };
}

const shown = (page: Page, selector: string) =>
  page.$$eval(
    selector,
    (els) =>
      els.filter((el) => (globalThis as unknown as Win).getComputedStyle(el).display !== "none").length,
  );

test("the rendered page of a real run: lanes, arrows, filters, zoom", {
  skip: SKIP,
  timeout: 120_000,
}, async (t) => {
  const workload = await runWorkload({ seed: 5, peers: 5, operations: 50 });
  const traces = workload.traces.byPeer;
  const layout = layoutRun(traces, checkTraces(traces), { title: "seed 5: 5 peers, 50 operations" });
  assert.ok(layout.arrows.length > 150, `a few hundred events: ${layout.arrows.length} arrows`);
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS, headless: true });
  t.after(() => browser.close());
  const { page, errors } = await open(browser, layout, "run");

  assert.equal(await page.locator("#diagram g.lane").count(), traces.size);
  assert.equal(await page.locator("#diagram path.arrow").count(), layout.arrows.length);
  assert.equal(await shown(page, "#diagram path.arrow"), layout.arrows.length);
  await page.screenshot({ path: "/tmp/render-run.png" });

  // Peer filter: lane 1 and every arrow to or from it go; the others stay.
  const touching = layout.arrows.filter((a) => a.from === 1 || a.to === 1).length;
  assert.ok(touching > 0);
  const top = (lane: number) =>
    page.locator(`#diagram g.lane[data-lanes="${lane}"] line`).evaluate((el) => el.getBoundingClientRect().y);
  const [y1, y2] = [await top(1), await top(2)];
  await page.uncheck('input.peer-filter[value="1"]');
  assert.equal(Math.round(await top(2)), Math.round(y1), "the lanes below close up");
  assert.ok(y2 > y1);
  assert.equal(await shown(page, '#diagram g.lane[data-lanes="1"]'), 0);
  assert.equal(
    await page.$$eval(
      "#diagram path.arrow",
      (els) =>
        els.filter(
          (el) =>
            (globalThis as unknown as Win).getComputedStyle(el).display !== "none" &&
            el.getAttribute("data-lanes")!.split(" ").includes("1"),
        ).length,
    ),
    0,
    "no arrow of the hidden lane shows",
  );
  assert.equal(await shown(page, "#diagram path.arrow"), layout.arrows.length - touching);
  await page.screenshot({ path: "/tmp/render-filtered.png" });
  await page.click("#all-peers");
  assert.equal(await shown(page, "#diagram path.arrow"), layout.arrows.length);

  // Node filter: only the deliveries at the chosen node, and the arrows into them.
  const atNode = new Map<number, number>();
  for (const d of layout.deliveries) atNode.set(d.node, (atNode.get(d.node) ?? 0) + 1);
  const [node, deliveries] = [...atNode.entries()].sort((a, b) => b[1] - a[1])[0]!;
  await page.selectOption("#node-filter", String(node));
  assert.equal(await shown(page, "#diagram g.delivery"), deliveries);
  assert.equal(await shown(page, "#diagram path.arrow"), deliveries);
  await page.selectOption("#node-filter", "");

  // Hover: the marks of one event stand out, its details show below the diagram.
  // The leftmost multicast, in view at the start.
  const multicast = layout.arrows
    .filter((a, i) => layout.arrows.findIndex((b) => b.event === a.event) !== i)
    .sort((a, b) => a.x1 - b.x1)[0]!;
  const ofEvent = layout.arrows.filter((a) => a.event === multicast.event).length;
  await page.locator(`#diagram g.step[data-event="${multicast.event}"]`).hover({ force: true });
  assert.match((await page.textContent("#info")) ?? "", new RegExp(`sent ${multicast.event} to `));
  assert.equal(await page.locator("#diagram path.arrow.hl").count(), ofEvent);
  assert.equal(await page.locator("#diagram g.delivery.hl").count(), ofEvent);

  // Zoom: the buttons and the wheel change the view box; fit shows the whole run.
  const box = () => page.getAttribute("#diagram", "viewBox");
  const before = (await box())!.split(" ").map(Number);
  await page.click("#zoom-in");
  const zoomed = (await box())!.split(" ").map(Number);
  assert.ok(zoomed[2]! < before[2]!, `zoomed in: ${before} -> ${zoomed}`);
  await page.mouse.move(700, 400);
  await page.mouse.wheel(0, 400);
  assert.ok((await box())!.split(" ").map(Number)[2]! > zoomed[2]!, "the wheel zooms out");
  await page.click("#zoom-fit");
  assert.ok((await box())!.split(" ").map(Number)[2]! >= layout.width);
  await page.click("#zoom-reset");

  assert.deepEqual(errors, []);
});

test("a run that breaks P1: its violations in red, listed, and shown on click", { skip: SKIP }, async (t) => {
  const b = new TraceBuilder()
    .start("A", "B", "C")
    .import("A", "B/1")
    .import("A", "C/1")
    .import("C", "A/1")
    .send("A", "m1", ["B/1", "C/1"])
    .send("A", "m2", ["B/1", "C/1"])
    .deliver("B", "m1", "B/1")
    .deliver("B", "m2", "B/1")
    .deliver("C", "m2", "C/1")
    .deliver("C", "m1", "C/1")
    .send("C", "m3", ["A/1"])
    .deliver("A", "m3", "A/1")
    .destroy("B", "d1", ["B/1"])
    .deliver("B", "d1", "B/1")
    .deliver("A", "d1", "B/1")
    .release("C", "r1", "A/1")
    .deliver("A", "r1", "A/1")
    .close("A", "B");
  const traces = b.traces();
  const report = checkTraces(traces);
  assert.ok(report.violationCounts.P1 > 0);
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS, headless: true });
  t.after(() => browser.close());
  const { page, errors } = await open(browser, layoutRun(traces, report, { title: "P1 broken" }), "p1");

  assert.ok((await page.locator("#diagram g.delivery.violation").count()) >= 4);
  assert.ok((await page.locator("#diagram path.arrow.violation").count()) >= 4);
  const stroke = await page
    .locator("#diagram path.arrow.violation")
    .first()
    .evaluate((el) => (globalThis as unknown as Win).getComputedStyle(el).stroke);
  assert.equal(stroke, "rgb(214, 39, 40)");
  assert.equal(await page.locator("#violations li:not(.head)").count(), report.violations.length);
  await page.locator("#violations li", { hasText: "[P1]" }).click();
  assert.ok((await page.locator("#diagram .hl").count()) > 0, "clicking a violation shows its events");
  await page.screenshot({ path: "/tmp/render-violation.png" });
  assert.deepEqual(errors, []);
});
