/**
 * A layout as one self-contained HTML page: the SVG of `renderSvg`, a header with the peer and node
 * filters and zoom buttons, the checker's violations, and an inline script (no external asset).
 */
import { PAGE_SCRIPT } from "./html-script.js";
import type { Layout } from "./model.js";
import { COLORS, renderSvg } from "./svg.js";
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
#zoom-level{min-width:3.5em;color:#666}
#view{flex:1;min-height:0;position:relative;overflow:hidden;cursor:grab;background:#fff;touch-action:none}
#view.dragging{cursor:grabbing}
#diagram{display:block;width:100%;height:100%;user-select:none}
#diagram .off{display:none}
#diagram .axis-bg{opacity:.92}
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
  "Hover a mark for its details; drag to pan, wheel to zoom (shift+wheel scrolls in time); keys + - 0, arrows, Home, End.";

/** Height of the SVG's title and summary lines, which the page's header repeats. */
const HEADING_TEXT = 46;

/** The layout as one HTML document (a string). */
export function renderHtml(layout: Layout): string {
  const svg = renderSvg(layout, {
    rootAttributes: `id="diagram" width="100%" height="100%" data-axis-top="${layout.axisY - 62}" data-skip-top="${HEADING_TEXT}"`,
  });
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
<div class="group"><label>node: <select id="node-filter"><option value="">all nodes</option>${nodes}</select></label></div>
<div class="group"><button id="zoom-out" type="button" title="zoom out (-)">−</button><span id="zoom-level">100%</span><button id="zoom-in" type="button" title="zoom in (+)">+</button><button id="zoom-reset" type="button" title="100%">1:1</button><button id="zoom-fit" type="button" title="the whole run (0)">fit</button></div>
</header>
<div id="view">
${svg}
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
