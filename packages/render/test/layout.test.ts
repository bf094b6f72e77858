import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { checkTraces } from "@capbus/checker";
import { type Layout, layoutRun, type OrderLine, renderHtml, renderSvg } from "@capbus/render";
import type { TraceRecord } from "@capbus/trace";
import { TraceBuilder } from "../../checker/test/builder.js";

function layoutOf(b: TraceBuilder): Layout {
  const traces = b.traces();
  return layoutRun(traces, checkTraces(traces));
}

/** A multicasts m1 to B and C; B, having delivered it, sends m2 to C; then all close. */
function chain(): TraceBuilder {
  return new TraceBuilder()
    .start("A", "B", "C")
    .import("A", "B/1")
    .import("A", "C/1")
    .import("B", "C/1")
    .send("A", "m1", ["B/1", "C/1"])
    .deliver("B", "m1", "B/1")
    .send("B", "m2", ["C/1"])
    .deliver("C", "m1", "C/1")
    .deliver("C", "m2", "C/1")
    .close("A", "B", "C");
}

const count = (text: string, needle: string): number => text.split(needle).length - 1;

describe("layoutRun", () => {
  test("one lane per peer, one arrow per delivery, a multicast's arrows from one send", () => {
    const b = chain();
    const layout = layoutOf(b);
    assert.deepEqual(
      layout.lanes.map((l) => l.peer),
      ["A", "B", "C"],
    );
    assert.equal(layout.deliveries.length, b.deliveries);
    assert.equal(layout.arrows.length, b.deliveries);
    const m1 = layout.arrows.filter((a) => a.event === "m1");
    assert.equal(m1.length, 2);
    assert.equal(new Set(m1.map((a) => `${a.x1},${a.y1}`)).size, 1, "both arrows leave the same send");
    assert.deepEqual(m1.map((a) => layout.lanes[a.to]!.peer).sort(), ["B", "C"]);
    assert.equal(layout.violationCount, 0);
    assert.ok(layout.deliveries.every((d) => !d.violation && !d.synthesized));
  });

  test("deliveries sit at their final timestamps, in order along the time axis; sends before them", () => {
    const layout = layoutOf(chain());
    const xs = layout.columns.map((c) => c.x);
    assert.deepEqual(
      xs,
      [...xs].sort((a, b) => a - b),
      "columns left to right",
    );
    const lamports = layout.columns.map((c) => c.ts[0]);
    assert.deepEqual(
      lamports,
      [...lamports].sort((a, b) => a - b),
    );
    for (const d of layout.deliveries) {
      const column = layout.columns.find((c) => c.event === d.event)!;
      assert.equal(d.x, column.x, `${d.event} at its column`);
      assert.deepEqual(d.ts, column.ts);
    }
    for (const a of layout.arrows) assert.ok(a.x1 < a.x2, `the send of ${a.event} is left of its delivery`);
    // B sent m2 after delivering m1: its send sits right of that delivery on B's lane.
    const m1AtB = layout.deliveries.find((d) => d.event === "m1" && layout.lanes[d.lane]!.peer === "B")!;
    const m2Send = layout.steps.find((s) => s.event === "m2")!;
    assert.ok(m1AtB.x < m2Send.x && m2Send.lane === m1AtB.lane);
    // The final timestamps are written on the axis.
    const svg = renderSvg(layout);
    for (const c of layout.columns) assert.ok(svg.includes(`>${c.ts[0]} ${c.ts[1]}:${c.ts[2]}<`));
  });

  test("a run that breaks P1 has the checker's violation drawn in red", () => {
    // B and C deliver the multicasts m1 and m2 in opposite orders.
    const b = new TraceBuilder()
      .start("A", "B", "C")
      .import("A", "B/1")
      .import("A", "C/1")
      .send("A", "m1", ["B/1", "C/1"])
      .send("A", "m2", ["B/1", "C/1"])
      .deliver("B", "m1", "B/1")
      .deliver("B", "m2", "B/1")
      .deliver("C", "m2", "C/1")
      .deliver("C", "m1", "C/1")
      .close("A", "B", "C");
    const traces = b.traces();
    const report = checkTraces(traces);
    assert.ok(report.violationCounts.P1 > 0, "the checker finds P1 broken");
    const layout = layoutRun(traces, report);
    assert.equal(
      layout.violationCount,
      Object.values(report.violationCounts).reduce((x, y) => x + y, 0),
    );
    const red = layout.deliveries.filter((d) => d.violation);
    assert.ok(red.length >= 2, "the deliveries in question are flagged");
    assert.ok(red.every((d) => d.event === "m1" || d.event === "m2"));
    assert.ok(layout.arrows.some((a) => a.violation));
    // At C the lane's own order (m2 first) is written beside the timestamp order.
    const atC = (e: string) =>
      layout.deliveries.find((d) => d.event === e && layout.lanes[d.lane]!.peer === "C")!;
    assert.deepEqual([atC("m1").position, atC("m2").position], [2, 1]);
    assert.ok(atC("m1").x < atC("m2").x, "placed by final timestamp all the same");
    assert.ok(layout.lanes.filter((l) => l.violation).length >= 2);
    const svg = renderSvg(layout);
    assert.ok(count(svg, 'class="delivery message violation"') >= 2);
    assert.match(svg, /class="arrow violation"[^>]*stroke="#d62728"/);
    assert.match(svg, /\[P1\] /, "the violation is listed under the diagram");
    assert.match(svg, /class="order"[^>]*>#2</);
    assert.match(renderHtml(layout), /<ul id="violations">/);
  });

  test("notifications are marked by kind; one for a lost peer and a lane without close are marked", () => {
    const b = new TraceBuilder()
      .start("A", "B", "C")
      .import("A", "B/1")
      .import("C", "A/1")
      .import("A", "D/1")
      .destroy("B", "d1", ["B/1"])
      .deliver("B", "d1", "B/1")
      .deliver("A", "d1", "B/1")
      .release("C", "r1", "A/1")
      .deliver("A", "r1", "A/1")
      // D's node was destroyed by D's loss: no record creates the notification (spec/trace.md W11).
      .deliver("A", "lost", "D/1", { kind: "destroyed", ts: [9, "D", 1] })
      .close("A", "B"); // C never closes
    const layout = layoutOf(b);
    assert.equal(layout.violationCount, 0);
    const kinds = layout.deliveries.map((d) => `${layout.lanes[d.lane]!.peer}:${d.kind}:${d.synthesized}`);
    assert.deepEqual(kinds.sort(), [
      "A:destroyed:false",
      "A:destroyed:true",
      "A:released:false",
      "B:destroyed:false",
    ]);
    assert.equal(layout.arrows.length, 3, "a made-up notification has no send to come from");
    assert.deepEqual(
      layout.steps.map((s) => s.kind),
      ["destroy", "release"],
    );
    assert.deepEqual(
      layout.lanes.map((l) => l.crashed),
      [false, false, true],
    );
    const svg = renderSvg(layout);
    assert.equal(count(svg, 'class="delivery destroyed"'), 2);
    assert.equal(count(svg, 'class="delivery released"'), 1);
    assert.equal(count(svg, 'class="delivery destroyed lost"'), 1);
    assert.equal(count(svg, 'class="arrow notification"'), 3);
    assert.match(svg, /class="step destroy"/);
  });

  test("aborted sends are marked; steps after a lane's last delivery keep their order", () => {
    const b = new TraceBuilder()
      .start("A", "B")
      .import("A", "B/1")
      .send("A", "m1", ["B/1"])
      .deliver("B", "m1", "B/1")
      .send("A", "m2", ["B/1"])
      .abort("A", "m2")
      .send("A", "m3", ["B/1"])
      .abort("A", "m3")
      .close("A", "B");
    const layout = layoutOf(b);
    const [s1, s2, s3] = layout.steps;
    assert.deepEqual(
      layout.steps.map((s) => [s.event, s.aborted]),
      [
        ["m1", false],
        ["m2", true],
        ["m3", true],
      ],
    );
    assert.ok(s1!.x < s2!.x && s2!.x < s3!.x, "in the lane's order, none on top of another");
    assert.equal(layout.arrows.length, 1);
  });
});

describe("names, payload summaries and the delivery-order view", () => {
  test("lanes read the peers' names (named first, by name); send summaries show in tooltips", () => {
    const b = chain();
    b.start("D");
    const names: Record<string, string> = { A: "C dhcp-client", B: "A link-manager", C: "B policy-daemon" };
    for (const r of b.records) {
      if (r.op === "start" && names[r.peer] !== undefined) Object.assign(r, { name: names[r.peer] });
      if (r.op === "send") Object.assign(r, { summary: `{"kind":"${r.event}"}` });
    }
    const layout = layoutOf(b);
    assert.deepEqual(
      layout.lanes.map((l) => [l.label, l.peer]),
      [
        ["A link-manager", "B"],
        ["B policy-daemon", "C"],
        ["C dhcp-client", "A"],
        ["D", "D"],
      ],
    );
    const m1 = layout.steps.find((s) => s.event === "m1")!;
    assert.match(m1.title, /^C dhcp-client sent m1 .*; payload \{"kind":"m1"\}/);
    const atC = layout.deliveries.find((d) => d.event === "m2")!;
    assert.match(atC.title, /^B policy-daemon delivered message m2 .*; payload \{"kind":"m2"\}/);
    const svg = renderSvg(layout);
    assert.match(svg, />A link-manager</);
    assert.match(svg, /<title>C dhcp-client sent m1 [^<]*payload \{&#34;kind&#34;:&#34;m1&#34;\}/);
  });

  test("order view: each lane's deliveries evenly in its own order; an inversion's lines cross", () => {
    // B and C deliver the multicasts m1 and m2 in opposite orders (a P1 violation); m3 agrees.
    const b = new TraceBuilder()
      .start("A", "B", "C")
      .import("A", "B/1")
      .import("A", "C/1")
      .send("A", "m1", ["B/1", "C/1"])
      .send("A", "m2", ["B/1", "C/1"])
      .deliver("B", "m1", "B/1")
      .deliver("B", "m2", "B/1")
      .deliver("C", "m2", "C/1")
      .deliver("C", "m1", "C/1")
      .send("A", "m3", ["B/1", "C/1"])
      .deliver("B", "m3", "B/1")
      .deliver("C", "m3", "C/1")
      .close("A", "B", "C");
    const layout = layoutOf(b);
    layout.lanes.forEach((_, lane) => {
      const xs = layout.deliveries.filter((d) => d.lane === lane).map((d) => d.orderX);
      const gaps = xs.slice(1).map((x, i) => Math.round((x - xs[i]!) * 1000));
      assert.ok(
        gaps.every((g) => g > 0 && g === gaps[0]),
        `lane ${lane}: in its order, evenly: ${xs}`,
      );
    });
    const line = (event: string) => layout.orderLines.find((l) => l.event === event)!;
    assert.equal(layout.orderLines.length, 3, "one line per event, from B's lane to C's");
    const crosses = (l: OrderLine, m: OrderLine) => (l.x1 - m.x1) * (l.x2 - m.x2) < 0;
    assert.ok(crosses(line("m1"), line("m2")), "the inversion crosses");
    assert.ok(!crosses(line("m1"), line("m3")) && !crosses(line("m2"), line("m3")), "agreement does not");
    assert.ok(line("m1").violation && line("m2").violation && !line("m3").violation);

    const order = renderSvg(layout, { view: "order" });
    assert.equal(count(order, 'class="order-line violation"'), 2);
    assert.equal(count(order, 'class="order-line"'), 1);
    assert.equal(count(order, 'class="arrow'), 0, "no arrows or steps in the order view");
    assert.equal(count(order, 'class="step'), 0);
    assert.equal(count(renderSvg(layout), 'class="order-line'), 0, "and no order lines in the time view");
    // The page carries both: the order lines hidden until asked for.
    assert.equal(count(renderHtml(layout), '<path class="order-line'), 3);
  });
});

describe("renderSvg and renderHtml", () => {
  test("ids are escaped; the page is one file with no external asset", () => {
    const evil = 'x"><script>alert(1)</script>';
    const records: TraceRecord[] = [
      { peer: evil, op: "start" },
      { peer: evil, op: "send", event: "e<1>", to: [evil], nodes: ["n&1"], handles: [] },
      {
        peer: evil,
        op: "deliver",
        event: "e<1>",
        kind: "message",
        node: "n&1",
        ts: [1, evil, 1],
        handles: [],
        dead: [],
      },
      { peer: evil, op: "close" },
    ];
    const traces = new Map([[evil, records]]);
    const layout = layoutRun(traces, checkTraces(traces), { title: "<b>run</b>" });
    const svg = renderSvg(layout);
    const html = renderHtml(layout);
    for (const text of [svg, html]) {
      assert.ok(!text.includes("<script>alert"), "no markup from trace data");
      assert.ok(!text.includes("<b>run"));
      assert.ok(text.includes("n&#38;1"));
    }
    assert.ok(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"'));
    assert.equal(count(html, "<script"), 1, "one inline script, ours");
    assert.doesNotMatch(
      html,
      /<script[^>]+src=|<link|@import|url\(http|https?:\/\/(?!www\.w3\.org\/2000\/svg)/,
    );
  });

  test("an empty run still lays out", () => {
    const traces = new Map<string, TraceRecord[]>([["A", [{ peer: "A", op: "start" }]]]);
    const layout = layoutRun(traces, checkTraces(traces));
    assert.equal(layout.lanes.length, 1);
    assert.equal(layout.columns.length, 0);
    assert.ok(layout.width > 0 && layout.height > 0);
    assert.match(renderSvg(layout), /<\/svg>$/);
  });
});
