/**
 * A layout as one self-contained HTML page: the SVG of `renderSvg` (with the delivery-order view's
 * lines, hidden until asked for), a header with the peer filter, the node picker, zoom along the
 * time axis, the order view toggle and "next violation", the checker's violations, and an inline
 * script (no external asset).
 */
import { PAGE_SCRIPT } from "./html-script.js";
import type { Layout } from "./model.js";
import { COLORS, svgDocument } from "./svg.js";
import { esc } from "./text.js";

const PAGE_CSS = `
*{box-sizing:border-box}
html,body{margin:0;height:100%;font:13px system-ui,-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;color:#222}
body{display:flex;flex-direction:column}
header{padding:6px 10px;border-bottom:1px solid #ddd;background:#fafafa;display:flex;flex-wrap:wrap;gap:6px 14px;align-items:center}
header h1{font-size:15px;margin:0}
header .summary{color:#666}
header .summary.bad{color:${COLORS.violation};font-weight:600}
.group{display:flex;gap:6px;align-items:center;flex-wrap:wrap}
.group label{display:inline-flex;gap:3px;align-items:center;white-space:nowrap}
.swatch{display:inline-block;width:10px;height:10px;border-radius:2px}
button{font:inherit;padding:1px 8px}
select{font:inherit;max-width:22em}
#zoom-level{min-width:3.5em;color:#666;white-space:nowrap}
#view{flex:1;min-height:0;position:relative;overflow:hidden;cursor:grab;background:#fff;touch-action:none}
#view.dragging{cursor:grabbing}
#tip{position:absolute;z-index:2;pointer-events:none;max-width:min(60ch,90%);padding:3px 7px;background:#fffff4;border:1px solid #bbb;border-radius:3px;box-shadow:0 1px 4px rgba(0,0,0,.15);font-size:12px;white-space:normal}
#diagram{display:block;width:100%;height:100%;user-select:none}
#diagram .off{display:none}
#diagram .axis-bg{opacity:.92}
#diagram:not(.order-view) .order-lines{display:none}
#diagram.dense .arrows{display:none}
#diagram.order-view .arrows,#diagram.order-view .steps,#diagram.order-view #grid,#diagram.order-view #axis .tick{display:none}
#order-view[aria-pressed="true"]{background:#dde8f5}
#violation-at{color:${COLORS.violation};min-width:3em}
#diagram #violation-list{display:none}
#diagram.focus [data-event]:not(.hl){opacity:.18}
#diagram .hl.arrow{stroke-width:2.6;opacity:1}
#violations{max-height:22vh;overflow:auto;border-top:1px solid #ddd;margin:0;padding:4px 10px 6px 28px;color:${COLORS.violation}}
#violations li{cursor:pointer;padding:1px 0}
#violations li:hover,#violations li.active{background:#fde8e8}
#violations .head{list-style:none;margin-left:-18px;font-weight:700;cursor:default;background:none}
footer{padding:4px 10px;border-top:1px solid #ddd;background:#fafafa;color:#444;min-height:1.8em;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
`;

const HELP =
  "Hover a mark for its details; drag to pan, wheel to zoom along time (shift+wheel scrolls); keys + - 0 (fit) 1 (1:1), arrows, Home, End, n (next violation), o (delivery order), Esc.";

/** Height of the SVG's title and summary lines, which the page's header repeats. */
const HEADING_TEXT = 46;

/** The layout as one HTML document (a string). */
export function renderHtml(layout: Layout): string {
  const svg = svgDocument(
    layout,
    {
      rootAttributes: `id="diagram" width="100%" height="100%" data-axis-top="${layout.axisY - 62}" data-skip-top="${HEADING_TEXT}"`,
    },
    true,
  );
  const peers = layout.lanes
    .map(
      (lane, i) =>
        `<label title="${esc(lane.peer)}"><input type="checkbox" class="peer-filter" value="${i}" checked>` +
        `<span class="swatch" style="background:${lane.color}"></span>${esc(lane.label)}</label>`,
    )
    .join("");
  const nodes = layout.nodes.map((node, i) => `<option value="${i}">${esc(node)}</option>`).join("");
  const bad = layout.violationCount > 0;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(layout.title)}</title>
<style>${PAGE_CSS}</style>
</head>
<body>
<header>
<h1>${esc(layout.title)}</h1>
<span class="summary${bad ? " bad" : ""}">${esc(layout.summary)}</span>
<div class="group" id="peers"><span>peers:</span>${peers}<button id="all-peers" type="button">all</button></div>
<div class="group"><label title="only the marks of one node, brought into view">node: <select id="node-filter"><option value="">all nodes</option>${nodes}</select></label></div>
<div class="group"><button id="zoom-out" type="button" title="zoom out along time (-)">−</button><span id="zoom-level">100%</span><button id="zoom-in" type="button" title="zoom in along time (+)">+</button><button id="zoom-reset" type="button" title="100%, from the start (1)">1:1</button><button id="zoom-fit" type="button" title="the whole run along time (0)">fit</button></div>
<div class="group"><button id="order-view" type="button" aria-pressed="false" title="each peer's deliveries in its own order, one event's joined by lines: lines that cross are peers that disagree (o)">delivery order</button>${
    bad
      ? `<button id="next-violation" type="button" title="jump to the next delivery the checker names (n; shift+n: back)">next violation</button><span id="violation-at"></span>`
      : ""
  }</div>
</header>
<div id="view">
${svg}
<div id="tip" hidden></div>
</div>
${violationList(layout)}
<footer id="info" data-default="${esc(HELP)}">${esc(HELP)}</footer>
<script>${PAGE_SCRIPT}</script>
</body>
</html>
`;
}

function violationList(layout: Layout): string {
  if (layout.violationCount === 0) return "";
  const items = layout.violations.map(
    (v) =>
      `<li data-events="${esc(v.events.join(" "))}" title="click: show its events">${esc(
        `[${v.property}] ${v.message}${v.events.length > 0 ? ` (events: ${v.events.join(", ")})` : ""}`,
      )}</li>`,
  );
  const more = layout.violationCount - layout.violations.length;
  const head = `${layout.violationCount} violation${layout.violationCount === 1 ? "" : "s"} found by the checker${more > 0 ? ` (${more} not listed)` : ""}`;
  return `<ul id="violations"><li class="head">${esc(head)}</li>${items.join("")}</ul>`;
}
