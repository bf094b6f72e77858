/**
 * The page's script, as plain ES2017 text inlined into the HTML (no bundler, no external file).
 * It reads everything it needs from the DOM once: the SVG's `data-*` sizes and the `data-lanes`,
 * `data-nodes`, `data-event`, `data-x` / `data-tx` / `data-ox` and `data-ends` attributes of its
 * marks (svg.ts). Zoom is along the time axis only, so lanes keep their spacing on a run of
 * thousands of events: it moves the marks (`draw`); pan only rewrites the viewBox (`apply`).
 */
export const PAGE_SCRIPT = `(function () {
  "use strict";
  var svg = document.getElementById("diagram");
  var view = document.getElementById("view");
  var info = document.getElementById("info");
  var labels = document.getElementById("labels");
  var axis = document.getElementById("axis");
  var axisBg = axis.querySelector(".axis-bg");
  var heading = document.getElementById("heading");
  var zoomLevel = document.getElementById("zoom-level");
  var tip = document.getElementById("tip");
  var num = function (el, name) { return Number(el.getAttribute(name)); };
  var all = function (selector) { return Array.prototype.slice.call(svg.querySelectorAll(selector)); };
  var r1 = function (v) { return Math.round(v * 10) / 10; };
  var plotX = num(svg, "data-plot-x");
  var axisY = num(svg, "data-axis-y");
  var axisTop = num(svg, "data-axis-top");
  var skipTop = num(svg, "data-skip-top") || 0;
  var ends = { time: num(svg, "data-time-end"), order: num(svg, "data-order-end") };
  var MAX_ZOOM = 8;
  // kx: the zoom along the time axis; x, y: the view's top left, in the SVG's units (1 = 1 px).
  // The page header names the run: the view starts below the SVG's own title, at its legend.
  var mode = "time", kx = 1, x = 0, y = skipTop;
  var X = function (t) { return plotX + (t - plotX) * kx; };
  var size = function () { return view.getBoundingClientRect(); };

  // Everything that moves, read once. A point (delivery, step) is drawn at data-x; its place is
  // data-tx (time view) or data-ox (order view; steps have none and hide there).
  var points = all("g.delivery, g.step").map(function (el) {
    var at = num(el, "data-x");
    return {
      el: el,
      at: at,
      tx: el.hasAttribute("data-tx") ? num(el, "data-tx") : at,
      ox: el.hasAttribute("data-ox") ? num(el, "data-ox") : NaN,
      lane: el.getAttribute("data-lanes"),
      node: el.getAttribute("data-nodes").split(" "),
      event: el.getAttribute("data-event"),
      delivery: el.classList.contains("delivery"),
    };
  });
  var segments = all("path.arrow, path.order-line").map(function (el) {
    var lanes = el.getAttribute("data-lanes").split(" ");
    return { el: el, e: el.getAttribute("data-ends").split(" ").map(Number), a: lanes[0], b: lanes[1], arrow: el.classList.contains("arrow") };
  });
  var lanes = all("g.lane").map(function (g) {
    var line = g.querySelector("line"), crash = g.querySelector(".crash");
    return { g: g, id: g.getAttribute("data-lanes"), y: num(g, "data-y"), line: line, crash: crash, crashAt: crash ? num(crash, "data-x") : 0, tx: num(line, "data-tx"), ox: num(line, "data-ox") };
  });
  var laneLabels = all("g.label");
  var ticks = all("#axis .tick").map(function (el) { return { el: el, at: num(el, "data-x") }; });
  var gridLines = all("#grid line").map(function (el) { return { el: el, at: num(el, "data-x") }; });
  var shift = {};

  // Mean distance between time columns: below 2 px on screen, arrows are only a smear and are
  // not drawn ("dense"); they come back on zooming in.
  var columnGap = ticks.length > 1 ? (ticks[ticks.length - 1].at - ticks[0].at) / (ticks.length - 1) : 30;
  var dense = false;
  // Only what lies within one view width either side of the view is placed and shown; the rest
  // is parked (display none) until a pan comes near it. A run of thousands of events then costs
  // a zoom or pan at 1:1 about what a short run costs.
  var band = [0, 0];
  function park(item, out) {
    if (item.parked === out) return;
    item.parked = out;
    item.el.style.display = out ? "none" : "";
  }

  // Places every shown mark for the current view, zoom and hidden lanes. Axis labels and grid
  // lines closer than a few pixels to the previous shown one are skipped.
  function draw() {
    var order = mode === "order";
    var width = size().width;
    band = [x - width, x + 2 * width];
    var lo = band[0], hi = band[1];
    dense = !order && columnGap * kx < 2;
    svg.classList.toggle("dense", dense);
    points.forEach(function (p) {
      if (p.el.classList.contains("off") || (order && !p.delivery)) return;
      var to = X(order ? p.ox : p.tx);
      park(p, to < lo || to > hi);
      if (!p.parked) p.el.setAttribute("transform", "translate(" + r1(to - p.at) + "," + (shift[p.lane] || 0) + ")");
    });
    segments.forEach(function (s) {
      if (s.el.classList.contains("off") || s.arrow === order || (s.arrow && dense)) return;
      var e = s.e, x1 = X(e[0]), x2 = X(e[2]);
      park(s, Math.max(x1, x2) < lo || Math.min(x1, x2) > hi);
      if (s.parked) return;
      var y1 = e[1] + (shift[s.a] || 0), y2 = e[3] + (shift[s.b] || 0);
      var d;
      if (s.arrow && s.a === s.b) {
        // An arrow to its own lane: the arc of svg.ts, above the lane.
        var lift = Math.min(40, 12 + Math.abs(x2 - x1) * 0.2);
        d = "M" + r1(x1) + "," + (y1 - 4) + " Q" + r1((x1 + x2) / 2) + "," + r1(y1 - lift * 2) + " " + r1(x2 - 3) + "," + (y2 - 6);
      } else {
        // Arrows stop 7 units short, so the head shows (svg.ts ARROW_CUT); order lines do not.
        var dx = x2 - x1, dy = y2 - y1, cut = s.arrow ? 7 / (Math.hypot(dx, dy) || 1) : 0;
        d = "M" + r1(x1) + "," + y1 + " L" + r1(x2 - dx * cut) + "," + r1(y2 - dy * cut);
      }
      s.el.setAttribute("d", d);
    });
    lanes.forEach(function (l) {
      var end = X(order ? l.ox : l.tx);
      l.line.setAttribute("x2", r1(end));
      if (l.crash) l.crash.setAttribute("transform", "translate(" + r1(end - l.crashAt) + ",0)");
      l.g.setAttribute("transform", "translate(0," + (shift[l.id] || 0) + ")");
    });
    laneLabels.forEach(function (g) {
      g.setAttribute("transform", "translate(0," + (shift[g.getAttribute("data-lanes")] || 0) + ")");
    });
    if (!order) {
      thin(ticks, 13, function (t, at) { t.el.setAttribute("transform", "translate(" + r1(at + 3) + "," + axisY + ") rotate(-45)"); });
      thin(gridLines, 6, function (g, at) { g.el.setAttribute("x1", r1(at)); g.el.setAttribute("x2", r1(at)); });
    }
    apply();
  }
  function thin(items, gap, place) {
    var last = -Infinity;
    items.forEach(function (item) {
      var at = X(item.at), show = at - last >= gap && at >= band[0] && at <= band[1];
      park(item, !show);
      if (show) { last = at; place(item, at); }
    });
  }
  // Pan: the viewBox, and the lane labels, title and axis kept on screen; near the edge of what
  // is drawn, draw again around the new view.
  function apply() {
    var r = size();
    if (x < band[0] + r.width / 2 || x + r.width > band[1] - r.width / 2) { draw(); return; }
    svg.setAttribute("viewBox", x + " " + y + " " + r.width + " " + r.height);
    labels.setAttribute("transform", "translate(" + Math.max(0, x) + ",0)");
    heading.setAttribute("transform", "translate(" + Math.max(0, x) + ",0)");
    axis.setAttribute("transform", "translate(0," + Math.max(0, y - axisTop) + ")");
    axisBg.setAttribute("x", x);
    axisBg.setAttribute("width", r.width);
    var pct = kx * 100;
    zoomLevel.textContent = (pct < 10 ? pct.toFixed(1) : Math.round(pct)) + "%" + (dense ? " (no arrows)" : "");
  }

  // Zoom along the time axis, keeping the time under view position px where it is.
  function fitZoom() {
    return Math.min(1, (size().width - plotX - 20) / Math.max(1, ends[mode] - plotX));
  }
  function zoomTo(nk, px) {
    nk = Math.min(MAX_ZOOM, Math.max(Math.min(0.05, fitZoom()), nk));
    var t = plotX + (x + px - plotX) / kx;
    kx = nk;
    x = X(t) - px;
  }
  function zoomBy(factor, px) { zoomTo(kx * factor, px); draw(); }
  function fit() { kx = fitZoom(); x = 0; y = skipTop; draw(); }
  function actualSize() { kx = 1; x = 0; y = skipTop; draw(); }
  function middle() { return size().width / 2; }

  // Wheel: zoom at the pointer, drawn once per frame however many wheel events come.
  var wheelFactor = 1, wheelAt = 0, wheelFrame = 0;
  view.addEventListener("wheel", function (e) {
    e.preventDefault();
    if (e.shiftKey || Math.abs(e.deltaX) > Math.abs(e.deltaY)) {
      x += e.deltaX || e.deltaY;
      apply();
      return;
    }
    wheelFactor *= Math.exp(-e.deltaY * 0.0015);
    wheelAt = e.clientX - size().left;
    if (!wheelFrame) wheelFrame = requestAnimationFrame(function () {
      wheelFrame = 0;
      var f = wheelFactor;
      wheelFactor = 1;
      zoomBy(f, wheelAt);
    });
  }, { passive: false });

  var drag = null;
  view.addEventListener("pointerdown", function (e) {
    tip.hidden = true;
    drag = { x: e.clientX, y: e.clientY, moved: false };
    view.setPointerCapture(e.pointerId);
    view.classList.add("dragging");
  });
  view.addEventListener("pointermove", function (e) {
    if (!drag) return;
    if (Math.abs(e.clientX - drag.x) + Math.abs(e.clientY - drag.y) > 0) drag.moved = true;
    x -= e.clientX - drag.x;
    y -= e.clientY - drag.y;
    drag.x = e.clientX;
    drag.y = e.clientY;
    apply();
  });
  function endDrag() {
    // A click without a drag lets go of a pinned highlight.
    if (drag && !drag.moved && pinned) unpin();
    drag = null;
    view.classList.remove("dragging");
  }
  view.addEventListener("pointerup", endDrag);
  view.addEventListener("pointercancel", endDrag);

  function click(id, fn) { var el = document.getElementById(id); if (el) el.addEventListener("click", fn); }
  click("zoom-in", function () { zoomBy(1.25, middle()); });
  click("zoom-out", function () { zoomBy(0.8, middle()); });
  click("zoom-fit", fit);
  click("zoom-reset", actualSize);
  click("order-view", function () { setMode(mode === "time" ? "order" : "time"); });
  click("next-violation", function () { nextViolation(1); });
  document.addEventListener("keydown", function (e) {
    if (e.target && /INPUT|SELECT/.test(e.target.tagName)) return;
    if (e.key === "+" || e.key === "=") zoomBy(1.25, middle());
    else if (e.key === "-") zoomBy(0.8, middle());
    else if (e.key === "0") fit();
    else if (e.key === "1") actualSize();
    else if (e.key === "n") nextViolation(1);
    else if (e.key === "N") nextViolation(-1);
    else if (e.key === "o") setMode(mode === "time" ? "order" : "time");
    else if (e.key === "Escape") unpin();
    else if (e.key === "ArrowRight") { x += 100; apply(); }
    else if (e.key === "ArrowLeft") { x -= 100; apply(); }
    else if (e.key === "ArrowDown") { y += 60; apply(); }
    else if (e.key === "ArrowUp") { y -= 60; apply(); }
    else if (e.key === "Home") { x = 0; apply(); }
    else if (e.key === "End") { x = X(ends[mode]) - size().width; apply(); }
  });
  window.addEventListener("resize", apply);

  // The delivery-order view: the same lanes, each peer's deliveries in its own order.
  function setMode(next) {
    mode = next;
    svg.classList.toggle("order-view", mode === "order");
    var button = document.getElementById("order-view");
    if (button) button.setAttribute("aria-pressed", String(mode === "order"));
    kx = Math.max(kx, Math.min(0.05, fitZoom()));
    x = 0;
    draw();
    if (current) revealViolation(current);
  }

  // Filters: a mark shows when all its lanes are on and, with a node chosen, it concerns that node.
  var marks = all("[data-lanes]");
  var lanesOn = {};
  var nodeOn = "";
  var peerBoxes = Array.prototype.slice.call(document.querySelectorAll("input.peer-filter"));
  function filter() {
    peerBoxes.forEach(function (box) { lanesOn[box.value] = box.checked; });
    marks.forEach(function (el) {
      var show = el.getAttribute("data-lanes").split(" ").every(function (l) { return lanesOn[l]; });
      var nodes = el.getAttribute("data-nodes");
      if (show && nodeOn !== "" && nodes !== null) show = nodes.split(" ").indexOf(nodeOn) >= 0;
      el.classList.toggle("off", !show);
    });
    // Hidden lanes close up: each shown lane takes the place of the n-th lane, n its rank.
    shift = {};
    var rank = 0;
    lanes.forEach(function (l) { if (lanesOn[l.id]) shift[l.id] = lanes[rank++].y - l.y; });
    draw();
  }
  peerBoxes.forEach(function (box) { box.addEventListener("change", filter); });
  document.getElementById("node-filter").addEventListener("change", function (e) {
    nodeOn = e.target.value;
    filter();
    if (nodeOn !== "") showNode(nodeOn);
  });
  click("all-peers", function () {
    peerBoxes.forEach(function (box) { box.checked = true; });
    filter();
  });

  var shown = function (p) { return !p.el.classList.contains("off") && (p.delivery || mode === "time"); };
  var placeOf = function (p) { return mode === "order" ? p.ox : p.tx; };
  var laneY = function (p) { return lanes[Number(p.lane)].y + (shift[p.lane] || 0); };

  // The node picker brings the node's marks into view: zoomed out just enough to hold them all.
  function showNode(node) {
    var mine = points.filter(function (p) { return shown(p) && p.node.indexOf(node) >= 0; });
    if (mine.length === 0) return;
    var lo = Infinity, hi = -Infinity, top = Infinity;
    mine.forEach(function (p) {
      lo = Math.min(lo, placeOf(p));
      hi = Math.max(hi, placeOf(p));
      top = Math.min(top, laneY(p));
    });
    var r = size(), room = r.width - plotX - 60;
    if ((hi - lo) * kx > room) kx = Math.max(Math.min(0.05, fitZoom()), room / (hi - lo));
    x = X((lo + hi) / 2) - (plotX + r.width) / 2;
    if (top < y + 80 || top > y + r.height - 40) y = Math.max(skipTop, top - 100);
    draw();
  }

  // Centres the view on a point, and (when off screen) on the lanes between lo and hi.
  function reveal(p, lo, hi) {
    var r = size();
    x = X(placeOf(p)) - (plotX + r.width) / 2;
    var py = laneY(p);
    lo = Math.min(py, lo === undefined ? py : lo);
    hi = Math.max(py, hi === undefined ? py : hi);
    if (lo < y + 100 || hi > y + r.height - 40) y = Math.max(skipTop, (lo + hi) / 2 - r.height / 2 + 30);
    apply();
  }

  // Jumps through the deliveries the checker named, left to right in the current view.
  var flagged = points.filter(function (p) { return p.delivery && p.el.classList.contains("violation"); });
  var current = null;
  // The delivery and every lane the checker named with its event, in view when they fit: both
  // sides of an inversion.
  function revealViolation(p) {
    var ys = flagged.filter(function (o) { return o.event === p.event && shown(o); }).map(laneY);
    reveal(p, Math.min.apply(null, ys), Math.max.apply(null, ys));
  }
  function nextViolation(step) {
    var list = flagged.filter(shown).sort(function (a, b) { return placeOf(a) - placeOf(b) || Number(a.lane) - Number(b.lane); });
    if (list.length === 0) return;
    var at = current ? list.indexOf(current) : -1;
    current = list[at < 0 ? (step > 0 ? 0 : list.length - 1) : (at + step + list.length) % list.length];
    revealViolation(current);
    pin([current.event]);
    info.textContent = "violation " + (list.indexOf(current) + 1) + "/" + list.length + ": " + titleOf(current.el);
    var where = document.getElementById("violation-at");
    if (where) where.textContent = list.indexOf(current) + 1 + "/" + list.length;
  }

  // Hover: the marks of one event stand out (a multicast's arrows together), its details below.
  var byEvent = {};
  svg.querySelectorAll("[data-event]").forEach(function (el) {
    var id = el.getAttribute("data-event");
    if (id === "") return;
    (byEvent[id] = byEvent[id] || []).push(el);
  });
  var focused = [];
  function focus(events) {
    focused.forEach(function (el) { el.classList.remove("hl"); });
    focused = [];
    events.forEach(function (id) { (byEvent[id] || []).forEach(function (el) { el.classList.add("hl"); focused.push(el); }); });
    svg.classList.toggle("focus", focused.length > 0);
  }
  var pinned = false;
  function pin(events) { pinned = true; focus(events); }
  function unpin() {
    pinned = false;
    focus([]);
    info.textContent = info.getAttribute("data-default");
    document.querySelectorAll("#violations li").forEach(function (o) { o.classList.remove("active"); });
  }
  // The marks' details: data-title (the static SVG's <title>), in a tooltip and the footer.
  function titleOf(el) {
    var t = el.getAttribute("data-title") || (el.querySelector("title") || {}).textContent;
    return t || "event " + el.getAttribute("data-event");
  }
  svg.addEventListener("mouseover", function (e) {
    var el = e.target.closest && e.target.closest("[data-title], [data-event]");
    if (el && (el.getAttribute("data-event") !== "" || el.hasAttribute("data-title"))) {
      var r = size();
      tip.textContent = titleOf(el);
      tip.style.left = Math.min(e.clientX - r.left + 14, r.width - 320) + "px";
      tip.style.top = e.clientY - r.top + 16 + "px";
      tip.hidden = false;
    } else tip.hidden = true;
    if (pinned) return;
    var event = el ? el.getAttribute("data-event") : null;
    if (!event) { focus([]); info.textContent = info.getAttribute("data-default"); return; }
    info.textContent = titleOf(el);
    focus([event]);
  });
  view.addEventListener("mouseleave", function () { tip.hidden = true; });
  document.querySelectorAll("#violations li:not(.head)").forEach(function (li) {
    li.addEventListener("click", function () {
      if (li.classList.contains("active")) { unpin(); return; }
      var events = li.getAttribute("data-events").split(" ").filter(Boolean);
      unpin();
      li.classList.add("active");
      pin(events);
      info.textContent = li.textContent;
      var first = points.filter(function (p) { return p.delivery && shown(p) && events.indexOf(p.event) >= 0; })[0];
      if (first) reveal(first);
    });
  });

  filter();
})();
`;
