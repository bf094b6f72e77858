/**
 * The page of `capbus trace render` in real headless Chromium (Debian's `chromium`, driven by
 * playwright-core): it loads from a file with no console or page error, has a lane per peer and an
 * arrow per delivery in the DOM, its peer and node filters hide what they should, zoom changes the
 * view along time only, and a run that breaks P1 shows its violations in red. On a run of 5,000
 * events (its load time printed, not bounded: the machine is shared) fit holds every column,
 * "next violation" and the node picker bring what they name into view, and the delivery-order
 * view shows the planted inversion as two crossing lines. Screenshots go to /tmp/render-*.png.
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
import { bigRun } from "./big-run.js";

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
): Promise<{ page: Page; errors: string[]; ms: number; bytes: number }> {
  const file = join(scratch, `${name}.html`);
  const html = renderHtml(layout);
  writeFileSync(file, html);
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
  const started = performance.now();
  await page.goto(pathToFileURL(file).href);
  return { page, errors, ms: performance.now() - started, bytes: html.length };
}

/** An element's box on screen (the project compiles without the DOM library). */
type Measured = {
  getBoundingClientRect(): {
    x: number;
    y: number;
    width: number;
    height: number;
    right: number;
    bottom: number;
  };
};

/** The first matching element's box on screen. */
const rect = (page: Page, selector: string) =>
  page
    .locator(selector)
    .first()
    .evaluate((el) => (el as unknown as Measured).getBoundingClientRect());

/** The view's box on screen. */
const viewBox = (page: Page) => rect(page, "#view");

/** How long lane 0 is on screen, where it ends, and the gap between lanes 0 and 1. */
async function extent(page: Page): Promise<{ width: number; right: number; gap: number }> {
  const [a, b] = [await rect(page, laneLine(0)), await rect(page, laneLine(1))];
  return { width: a.width, right: a.right, gap: Math.round(b.y - a.y) };
}
const laneLine = (lane: number) => `#diagram g.lane[data-lanes="${lane}"] line`;

/** Waits until `ok` holds (the wheel zooms on the next animation frame). */
async function until(ok: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (await ok()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  assert.fail(`timed out waiting until ${what}`);
}

/**
 * How many of the elements show: not filtered out, and not hidden by the page's CSS. Marks far
 * from the view are parked (an inline display none, drawn when a pan comes near): those count.
 */
const shown = (page: Page, selector: string) =>
  page.$$eval(
    selector,
    (els) =>
      els.filter(
        (el) =>
          !el.classList.contains("off") &&
          ((el as unknown as { style: { display: string } }).style.display === "none" ||
            (globalThis as unknown as Win).getComputedStyle(el).display !== "none"),
      ).length,
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
    await page
      .locator('#diagram g.lane[data-lanes="1"]')
      .evaluate((el) => (globalThis as unknown as Win).getComputedStyle(el).display),
    "none",
  );
  assert.equal(
    await page.$$eval(
      "#diagram path.arrow",
      (els) =>
        els.filter(
          (el) => !el.classList.contains("off") && el.getAttribute("data-lanes")!.split(" ").includes("1"),
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

  // Zoom is along the time axis only: the buttons and the wheel stretch a lane, not the gap
  // between lanes; fit shows the whole run; 1:1 goes back to the start.
  await page.click("#zoom-reset");
  const before = await extent(page);
  await page.click("#zoom-in");
  const zoomed = await extent(page);
  assert.ok(zoomed.width > before.width * 1.2, `zoomed in: ${before.width} -> ${zoomed.width}`);
  assert.equal(zoomed.gap, before.gap, "lanes keep their spacing");
  await page.mouse.move(700, 400);
  await page.mouse.wheel(0, 400);
  await until(async () => (await extent(page)).width < zoomed.width, "the wheel zooms out");
  await page.click("#zoom-fit");
  const fitted = await extent(page);
  assert.ok(fitted.right <= 1400, `the whole run in view: lane 0 ends at ${fitted.right}`);
  assert.equal(fitted.gap, before.gap);
  await page.click("#zoom-reset");
  assert.equal(await page.getAttribute("#diagram", "viewBox"), `0 46 1400 ${(await viewBox(page)).height}`);

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

test("a run of 5,000 events: fit, next violation, the node picker and the delivery-order view", {
  skip: SKIP,
  timeout: 300_000,
}, async (t) => {
  const run = bigRun(11, 5000);
  const report = checkTraces(run.traces);
  assert.equal(report.violationCounts.P1, 1, "the planted inversion is the run's one P1 violation");
  const layout = layoutRun(run.traces, report, { title: "5,000 events" });
  assert.ok(layout.columns.length >= 5000, `${layout.columns.length} columns`);
  assert.deepEqual(
    layout.lanes.slice(0, 3).map((l) => l.label),
    ["A link-manager", "B policy-daemon", "C dhcp-client"],
    "lanes read the peers' names",
  );
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS, headless: true });
  t.after(() => browser.close());
  const { page, errors, ms, bytes } = await open(browser, layout, "big");
  t.diagnostic(
    `${run.events} events, ${layout.deliveries.length} deliveries: ${(bytes / 1e6).toFixed(1)} MB page loaded in ${Math.round(ms)} ms`,
  );
  const view = await viewBox(page);
  const inView = (r: { x: number; y: number; right: number; bottom: number }) =>
    r.x >= view.x && r.right <= view.right && r.y >= view.y && r.bottom <= view.bottom;
  const mark = (event: string, lane: number) =>
    `#diagram g.delivery[data-event="${event}"][data-lanes="${lane}"]`;
  const laneOf = (peer: string) => layout.lanes.findIndex((l) => l.peer === peer);
  const gap = (await extent(page)).gap;

  // The payload summary of a send shows on hover.
  await page.locator("#diagram g.step").first().hover({ force: true });
  assert.match((await page.textContent("#tip")) ?? "", /payload \{"n":\d+\}/);

  // Fit: the first and the last column in view, lanes as far apart as before.
  await page.click("#zoom-fit");
  for (const column of [layout.columns[0]!, layout.columns[layout.columns.length - 1]!]) {
    const d = layout.deliveries.find((x) => x.event === column.event)!;
    assert.ok(inView(await rect(page, mark(d.event, d.lane))), `column of ${column.event} in view at fit`);
  }
  assert.equal((await extent(page)).gap, gap, "fit zooms along time only");
  const fitZoom = Number.parseFloat((await page.textContent("#zoom-level")) ?? "");
  assert.ok(fitZoom < 5, `fit zoom ${fitZoom}%`);
  await page.screenshot({ path: "/tmp/render-big-fit.png" });

  // 1:1 goes back to the start; "next violation" brings the planted one into view.
  await page.click("#zoom-reset");
  const { first, p } = run.inversion;
  const planted = mark(first, laneOf(p));
  assert.ok(!inView(await rect(page, planted)), "the planted violation starts out of view");
  await page.click("#next-violation");
  assert.ok(inView(await rect(page, planted)), "next violation scrolled it into view");
  assert.equal(await page.locator(`${planted}.hl`).count(), 1, "and highlighted it");
  assert.equal(await page.textContent("#violation-at"), "1/4");
  await page.screenshot({ path: "/tmp/render-big-violation.png" });
  await page.keyboard.press("Escape");

  // The node picker: only the node's deliveries, every one in view, zoomed no further out than needed.
  await page.click("#zoom-reset");
  const node = layout.nodes.indexOf(run.lateNode);
  const atNode = layout.deliveries.filter((d) => d.node === node);
  assert.ok(atNode.length >= 20, `${atNode.length} deliveries at ${run.lateNode}`);
  assert.ok(!inView(await rect(page, mark(atNode[0]!.event, atNode[0]!.lane))));
  await page.selectOption("#node-filter", String(node));
  assert.equal(await shown(page, "#diagram g.delivery"), atNode.length);
  for (const d of atNode) assert.ok(inView(await rect(page, mark(d.event, d.lane))), `${d.event} in view`);
  const nodeZoom = Number.parseFloat((await page.textContent("#zoom-level")) ?? "");
  assert.ok(nodeZoom > fitZoom * 5, `zoomed to the node's stretch (${nodeZoom}%), not the whole run`);
  await page.screenshot({ path: "/tmp/render-big-node.png" });
  await page.selectOption("#node-filter", "");

  // The delivery-order view: the two events p and q deliver in opposite orders draw crossing lines,
  // and no other two lines between those lanes cross.
  const { second, q } = run.inversion;
  const pair = `${laneOf(p)} ${laneOf(q)}`;
  await page.click("#order-view");
  assert.equal(await page.getAttribute("#order-view", "aria-pressed"), "true");
  const arrowsShow = () =>
    page
      .locator("#diagram g.arrows")
      .evaluate((el) => (globalThis as unknown as Win).getComputedStyle(el).display);
  assert.equal(await arrowsShow(), "none", "no arrows in the order view");
  const ends = async (event: string) => {
    const line = page.locator(`#diagram path.order-line[data-event="${event}"][data-lanes="${pair}"]`);
    const style = await line.evaluate((el) => (globalThis as unknown as Win).getComputedStyle(el).display);
    assert.notEqual(style, "none", `the line of ${event} shows`);
    return ((await line.getAttribute("d")) ?? "")
      .split(/[ML, ]+/)
      .filter(Boolean)
      .map(Number);
  };
  const [a, b] = [await ends(first), await ends(second)];
  assert.ok((a[0]! - b[0]!) * (a[2]! - b[2]!) < 0, `the lines cross: ${a} / ${b}`);
  const between = layout.orderLines.filter((l) => `${l.from} ${l.to}` === pair);
  const crossing: string[] = [];
  for (let i = 0; i < between.length; i++) {
    for (let j = i + 1; j < between.length; j++) {
      const [l, m] = [between[i]!, between[j]!];
      if ((l.x1 - m.x1) * (l.x2 - m.x2) < 0) crossing.push([l.event, m.event].sort().join(" "));
    }
  }
  assert.deepEqual(crossing, [[first, second].sort().join(" ")]);
  await page.screenshot({ path: "/tmp/render-big-order.png" });
  await page.click("#order-view");
  assert.equal(await page.getAttribute("#order-view", "aria-pressed"), "false");
  assert.notEqual(await arrowsShow(), "none");

  assert.deepEqual(errors, []);
});
