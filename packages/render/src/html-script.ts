/**
 * The page's script, as plain ES2017 text inlined into the HTML (no bundler, no external file).
 * It reads everything it needs from the DOM: the SVG's size (`data-width`/`data-height`) and the
 * `data-lanes` / `data-nodes` / `data-event` attributes of its marks. Zoom and pan rewrite the
 * viewBox; lane labels and the time axis are moved so they stay on screen.
 */
export const PAGE_SCRIPT = `(function () {
  "use strict";
  var svg = document.getElementById("diagram");
  var view = document.getElementById("view");
  var info = document.getElementById("info");
  var labels = document.getElementById("labels");
  var axis = document.getElementById("axis");
  var W = Number(svg.getAttribute("data-width"));
  var H = Number(svg.getAttribute("data-height"));
  var axisTop = Number(svg.getAttribute("data-axis-top"));
  var heading = document.getElementById("heading");
  // The page header already names the run: start below the SVG's own title, at its legend.
  var k = 1, x = 0, y = Number(svg.getAttribute("data-skip-top")) || 0;

  function apply() {
    var r = view.getBoundingClientRect();
    svg.setAttribute("viewBox", x + " " + y + " " + r.width / k + " " + r.height / k);
    labels.setAttribute("transform", "translate(" + Math.max(0, x) + ",0)");
    heading.setAttribute("transform", "translate(" + Math.max(0, x) + ",0)");
    axis.setAttribute("transform", "translate(0," + Math.max(0, y - axisTop) + ")");
    document.getElementById("zoom-level").textContent = Math.round(k * 100) + "%";
  }
  function zoomAt(factor, px, py) {
    var nk = Math.min(8, Math.max(0.05, k * factor));
    x = x + px / k - px / nk;
    y = y + py / k - py / nk;
    k = nk;
    apply();
  }
  function fit() {
    var r = view.getBoundingClientRect();
    k = Math.min(r.width / W, r.height / H, 1);
    x = 0;
    y = 0;
    apply();
  }
  function center() {
    var r = view.getBoundingClientRect();
    return [r.width / 2, r.height / 2];
  }

  view.addEventListener("wheel", function (e) {
    e.preventDefault();
    var r = view.getBoundingClientRect();
    if (e.shiftKey || Math.abs(e.deltaX) > Math.abs(e.deltaY)) {
      x += (e.deltaX || e.deltaY) / k;
      apply();
    } else {
      zoomAt(Math.exp(-e.deltaY * 0.0015), e.clientX - r.left, e.clientY - r.top);
    }
  }, { passive: false });

  var drag = null;
  view.addEventListener("pointerdown", function (e) {
    drag = { x: e.clientX, y: e.clientY };
    view.setPointerCapture(e.pointerId);
    view.classList.add("dragging");
  });
  view.addEventListener("pointermove", function (e) {
    if (!drag) return;
    x -= (e.clientX - drag.x) / k;
    y -= (e.clientY - drag.y) / k;
    drag = { x: e.clientX, y: e.clientY };
    apply();
  });
  function endDrag() { drag = null; view.classList.remove("dragging"); }
  view.addEventListener("pointerup", endDrag);
  view.addEventListener("pointercancel", endDrag);

  document.getElementById("zoom-in").addEventListener("click", function () { var c = center(); zoomAt(1.25, c[0], c[1]); });
  document.getElementById("zoom-out").addEventListener("click", function () { var c = center(); zoomAt(0.8, c[0], c[1]); });
  document.getElementById("zoom-fit").addEventListener("click", fit);
  document.getElementById("zoom-reset").addEventListener("click", function () { k = 1; apply(); });
  document.addEventListener("keydown", function (e) {
    if (e.target && /INPUT|SELECT/.test(e.target.tagName)) return;
    var c = center();
    if (e.key === "+" || e.key === "=") zoomAt(1.25, c[0], c[1]);
    else if (e.key === "-") zoomAt(0.8, c[0], c[1]);
    else if (e.key === "0") fit();
    else if (e.key === "ArrowRight") { x += 100 / k; apply(); }
    else if (e.key === "ArrowLeft") { x -= 100 / k; apply(); }
    else if (e.key === "ArrowDown") { y += 60 / k; apply(); }
    else if (e.key === "ArrowUp") { y -= 60 / k; apply(); }
    else if (e.key === "Home") { x = 0; apply(); }
    else if (e.key === "End") { x = W - view.getBoundingClientRect().width / k; apply(); }
  });
  window.addEventListener("resize", apply);

  // Filters: a mark shows when all its lanes are on and, with a node chosen, it concerns that node.
  var marks = Array.prototype.slice.call(svg.querySelectorAll("[data-lanes]"));
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
    closeUp();
  }

  // Hidden lanes close up: each shown lane takes the place of the n-th lane, n its rank among
  // the shown ones. Marks of one lane move with it; arrows between lanes are redrawn.
  var laneYs = Array.prototype.map.call(svg.querySelectorAll("g.lane"), function (g) {
    return Number(g.getAttribute("data-y"));
  });
  function closeUp() {
    var shift = {};
    var rank = 0;
    laneYs.forEach(function (y, i) {
      if (lanesOn[String(i)]) shift[i] = laneYs[rank++] - y;
    });
    marks.forEach(function (el) {
      if (el.classList.contains("off")) return;
      var lanes = el.getAttribute("data-lanes").split(" ");
      var ends = el.getAttribute("data-ends");
      if (ends === null) {
        var dy = shift[lanes[0]] || 0;
        if (dy !== 0 || el.hasAttribute("transform")) el.setAttribute("transform", "translate(0," + dy + ")");
        return;
      }
      var e = ends.split(" ").map(Number);
      var y1 = e[1] + (shift[lanes[0]] || 0), y2 = e[3] + (shift[lanes[1]] || 0);
      var ddx = e[2] - e[0], ddy = y2 - y1, cut = 7 / (Math.hypot(ddx, ddy) || 1);
      el.setAttribute("d", "M" + e[0] + "," + y1 + " L" + (e[2] - ddx * cut) + "," + (y2 - ddy * cut));
    });
  }
  peerBoxes.forEach(function (box) { box.addEventListener("change", filter); });
  document.getElementById("node-filter").addEventListener("change", function (e) {
    nodeOn = e.target.value;
    filter();
  });
  document.getElementById("all-peers").addEventListener("click", function () {
    peerBoxes.forEach(function (box) { box.checked = true; });
    filter();
  });

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
  svg.addEventListener("mouseover", function (e) {
    if (pinned) return;
    var el = e.target.closest && e.target.closest("[data-event]");
    if (!el) { focus([]); info.textContent = info.getAttribute("data-default"); return; }
    var t = el.querySelector("title");
    info.textContent = t ? t.textContent : "event " + el.getAttribute("data-event");
    focus([el.getAttribute("data-event")]);
  });
  document.querySelectorAll("#violations li").forEach(function (li) {
    li.addEventListener("click", function () {
      var events = li.getAttribute("data-events").split(" ").filter(Boolean);
      pinned = !li.classList.contains("active");
      document.querySelectorAll("#violations li").forEach(function (o) { o.classList.remove("active"); });
      if (!pinned) { focus([]); return; }
      li.classList.add("active");
      focus(events);
      info.textContent = li.textContent;
      var first = (byEvent[events[0]] || []).filter(function (el) { return el.classList.contains("delivery"); })[0];
      if (first) {
        var b = first.getBBox();
        var r = view.getBoundingClientRect();
        x = Math.max(0, b.x - r.width / k / 2);
        apply();
      }
    });
  });

  filter();
  apply();
})();
`;
