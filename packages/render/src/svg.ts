/**
 * A layout as one SVG document: lanes, arrows, marks, the time axis, a legend and the list of
 * violations; or the same lanes in the delivery-order view. The same markup is the static `.svg`
 * and the picture inside the HTML page; the page's script finds what to filter through the
 * `data-lanes` / `data-nodes` attributes written here, and what to move through `data-x` (time
 * view x), `data-ox` (order view x) and `data-ends`.
 */
import type { Arrow, DeliveryMark, Layout, OrderLine, StepMark } from "./model.js";
import { esc, shortId } from "./text.js";

export const COLORS = {
  violation: "#d62728",
  destroyed: "#ff7f0e",
  released: "#d4a100",
  lost: "#444444",
  lane: "#c8c8c8",
  grid: "#eeeeee",
  text: "#222222",
  muted: "#777777",
} as const;

/** How far short of its delivery an arrow between lanes stops (the page's script uses 7 too). */
const ARROW_CUT = 7;

/** Violations listed under the diagram; the rest are counted. */
const LISTED = 30;

/** Options of `renderSvg`. */
export interface SvgOptions {
  /** Attributes for the root element (the HTML page sizes it to the window). @default the layout's size */
  readonly rootAttributes?: string;
  /**
   * `time`: marks along the time axis, with arrows from sends to deliveries. `order`: the
   * delivery-order view, each lane's deliveries evenly spaced in the peer's own order and joined
   * across lanes by event, so a P1 inversion shows as crossing lines. @default "time"
   */
  readonly view?: "time" | "order";
}

/** The layout as an SVG document (a string; self-contained: no external reference). */
export function renderSvg(layout: Layout, options: SvgOptions = {}): string {
  return svgDocument(layout, options, false);
}

/**
 * The SVG document; for the HTML page (`page`), the time view with the order view's lines
 * (hidden until the page shows that view) and the page's ids.
 */
export function svgDocument(layout: Layout, options: SvgOptions, page: boolean): string {
  const order = options.view === "order";
  const listed = layout.violations.slice(0, LISTED);
  const listHeight = layout.violationCount === 0 ? 0 : 30 + 16 * (listed.length + 1);
  const height = layout.height + listHeight;
  const head = heading(layout, order);
  // Wide enough for the legend and the listed violations, however short the run.
  const width = Math.ceil(
    Math.max(
      order ? layout.orderWidth : layout.width,
      head.width,
      ...listed.map((v) => 24 + violationText(v).length * 6.8),
    ),
  );
  const root =
    options.rootAttributes ?? `width="${width}" height="${height}" viewBox="0 0 ${width} ${height}"`;
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" class="capbus-order${order ? " order-view" : ""}" ${root} data-width="${width}" data-height="${height}" data-plot-x="${layout.plotX}" data-axis-y="${layout.axisY}" data-time-end="${layout.width}" data-order-end="${layout.orderWidth}">`,
    `<title>${esc(`${layout.title}: ${layout.summary}`)}</title>`,
    `<style>${SVG_CSS}</style>`,
    defs(layout),
    `<rect class="bg" x="0" y="0" width="${width}" height="${height}" fill="#ffffff"/>`,
    head.markup,
    order ? "" : grid(layout),
    '<g id="plot">',
    '<g class="lanes">',
    ...layout.lanes.map((lane, i) => {
      const x2 = order ? lane.orderX2 : lane.x2;
      return `<g class="lane" data-lanes="${i}" data-y="${n(lane.y)}"><line x1="${n(lane.x1)}" y1="${n(lane.y)}" x2="${n(x2)}" y2="${n(lane.y)}" stroke="${COLORS.lane}" stroke-width="2" data-tx="${n(lane.x2)}" data-ox="${n(lane.orderX2)}"/>${
        lane.crashed ? crashMark(x2, lane.y, ` data-x="${n(x2)}"`) : ""
      }</g>`;
    }),
    "</g>",
    ...(order || page ? ['<g class="order-lines">', ...layout.orderLines.map(orderLine), "</g>"] : []),
    ...(order
      ? []
      : [
          '<g class="arrows">',
          ...layout.arrows.map(arrow),
          "</g>",
          '<g class="steps">',
          ...layout.steps.map((s) => step(s, layout, page)),
          "</g>",
        ]),
    '<g class="deliveries">',
    ...layout.deliveries.map((d) => delivery(d, order, page)),
    "</g>",
    "</g>",
    axis(layout, width, order, page),
    labels(layout),
    violationList(layout, listed, layout.height),
    "</svg>",
  );
  return out.join("\n");
}

const n = (x: number): string => (Math.round(x * 10) / 10).toString();

const SVG_CSS = [
  "text{font-family:system-ui,-apple-system,'Segoe UI',Helvetica,Arial,sans-serif}",
  ".tick{font-size:10px;fill:#555}",
  ".lane-label{font-size:13px;font-weight:600}",
  ".lane-sub{font-size:10px;fill:#777}",
  ".arrow{fill:none;stroke-width:1.3;opacity:.75}",
  ".arrow.notification{stroke-dasharray:5 3}",
  ".arrow.violation{stroke-width:2.4;opacity:1}",
  ".order-line{fill:none;stroke-width:1.2;opacity:.6}",
  ".order-line.violation{stroke-width:2.4;opacity:1}",
  ".lost-label{font-size:9px;fill:#444}",
  ".order{font-size:10px;font-weight:700}",
  ".vlist{font-size:12px}",
].join("");

function defs(layout: Layout): string {
  const colors = new Set<string>([COLORS.violation, ...layout.arrows.map((a) => a.color)]);
  const markers = [...colors].map(
    (c) =>
      `<marker id="${markerId(c)}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,1 L10,5 L0,9 z" fill="${c}"/></marker>`,
  );
  return `<defs>${markers.join("")}</defs>`;
}

const markerId = (color: string): string => `head-${color.replace("#", "")}`;

function heading(layout: Layout, order: boolean): { markup: string; width: number } {
  const y = 22;
  const summary = order
    ? `${layout.summary}; delivery order: each lane in its peer's own order, a line joins one event's deliveries (lines that cross: two peers disagree)`
    : layout.summary;
  const items: string[] = [
    `<text x="12" y="${y}" font-size="16" font-weight="700">${esc(layout.title)}</text>`,
    `<text x="12" y="${y + 20}" font-size="12" fill="${layout.violationCount > 0 ? COLORS.violation : COLORS.muted}">${esc(summary)}</text>`,
  ];
  // The legend: one sample of each mark, left to right.
  let x = 12;
  const ly = y + 46;
  const entry = (shape: string, text: string) => {
    items.push(
      `<g transform="translate(${x},${ly})">${shape}<text x="14" y="4" font-size="11">${text}</text></g>`,
    );
    x += 40 + text.length * 6.2; // about the width of 11px text, and room for the next shape
  };
  entry(`<circle r="5" fill="#1f77b4"/>`, "message delivered");
  entry(destroyedShape(0, 0), "destroyed");
  entry(releasedShape(0, 0), "released");
  entry(
    `<circle r="5" fill="#999"/><circle r="9" fill="none" stroke="${COLORS.lost}" stroke-dasharray="2 2"/>`,
    "notification for a lost peer (crash)",
  );
  entry(`<circle r="4" fill="#fff" stroke="#1f77b4" stroke-width="2"/>`, "send");
  entry(
    `<rect x="-4" y="-4" width="8" height="8" fill="#fff" stroke="#1f77b4" stroke-width="2"/>`,
    "destroy",
  );
  entry(`<path d="M0,-5 L5,4 L-5,4 z" fill="#fff" stroke="#1f77b4" stroke-width="2"/>`, "release");
  entry(
    `<line x1="-8" y1="0" x2="8" y2="0" stroke="${COLORS.violation}" stroke-width="2.4"/>`,
    "violation found by the checker",
  );
  entry(crashMark(-4, 0), "lane ends without close (crashed)");
  return { markup: `<g id="heading">${items.join("")}</g>`, width: x };
}

/** Faint vertical lines, one per column, under everything else. */
function grid(layout: Layout): string {
  const lines = layout.columns.map(
    (c) =>
      `<line x1="${n(c.x)}" y1="${layout.axisY + 6}" x2="${n(c.x)}" y2="${layout.height - 20}" stroke="${COLORS.grid}" data-x="${n(c.x)}"/>`,
  );
  return `<g id="grid">${lines.join("")}</g>`;
}

/** The final timestamps, one label per column: lamport, creator, seq. */
function axis(layout: Layout, width: number, order: boolean, page: boolean): string {
  const ticks = (order ? [] : layout.columns).map((c) => {
    const label = `${c.ts[0]} ${shortId(c.ts[1], 9)}:${c.ts[2]}`;
    const full = `final timestamp [${c.ts[0]}, ${c.ts[1]}, ${c.ts[2]}] of ${c.event}`;
    const [attr, child] = tip(full, page);
    return `<text class="tick" transform="translate(${n(c.x + 3)},${layout.axisY}) rotate(-45)" data-x="${n(c.x)}"${attr}>${esc(label)}${child}</text>`;
  });
  return `<g id="axis"><rect class="axis-bg" x="0" y="${layout.axisY - 62}" width="${width}" height="70" fill="#ffffff" opacity="0"/>${ticks.join("")}</g>`;
}

function labels(layout: Layout): string {
  const parts = layout.lanes.map((lane, i) => {
    const color = lane.violation ? COLORS.violation : lane.color;
    const ending = lane.crashed ? "no close" : "closed";
    // A named lane's id goes under its name: names need not be unique.
    const sub = lane.name === undefined ? ending : `${shortId(lane.peer)} · ${ending}`;
    return (
      `<g class="label" data-lanes="${i}"><title>${esc(lane.peer)}</title>` +
      `<rect x="4" y="${n(lane.y - 8)}" width="6" height="16" fill="${color}"/>` +
      `<text class="lane-label" x="16" y="${n(lane.y - 1)}" fill="${color}">${esc(lane.label)}</text>` +
      `<text class="lane-sub" x="16" y="${n(lane.y + 13)}">${sub}</text></g>`
    );
  });
  return `<g id="labels"><rect class="labels-bg" x="0" y="${layout.axisY + 8}" width="${layout.plotX - 8}" height="${layout.height - layout.axisY - 8}" fill="#ffffff" opacity="0.9"/>${parts.join("")}</g>`;
}

function arrow(a: Arrow): string {
  const color = a.violation ? COLORS.violation : a.color;
  const classes = ["arrow", a.kind === "message" ? "" : "notification", a.violation ? "violation" : ""]
    .filter(Boolean)
    .join(" ");
  let d: string;
  if (a.from === a.to) {
    // On its own lane: an arc above it, so it does not hide the lane's other marks.
    const lift = Math.min(40, 12 + Math.abs(a.x2 - a.x1) * 0.2);
    d = `M${n(a.x1)},${n(a.y1 - 4)} Q${n((a.x1 + a.x2) / 2)},${n(a.y1 - lift * 2)} ${n(a.x2 - 3)},${n(a.y2 - 6)}`;
  } else {
    const dx = a.x2 - a.x1;
    const dy = a.y2 - a.y1;
    const len = Math.hypot(dx, dy) || 1;
    const cut = ARROW_CUT / len; // stop at the mark's edge, so the head shows
    d = `M${n(a.x1)},${n(a.y1)} L${n(a.x2 - dx * cut)},${n(a.y2 - dy * cut)}`;
  }
  // The ends, for the page to redraw the arrow when it zooms or hidden lanes close up.
  const ends = ` data-ends="${n(a.x1)} ${n(a.y1)} ${n(a.x2)} ${n(a.y2)}"`;
  return `<path class="${classes}" d="${d}" stroke="${color}" marker-end="url(#${markerId(color)})" data-lanes="${a.from} ${a.to}" data-nodes="${a.node}" data-event="${esc(a.event)}"${ends}/>`;
}

function orderLine(l: OrderLine): string {
  const color = l.violation ? COLORS.violation : l.color;
  return `<path class="order-line${l.violation ? " violation" : ""}" d="M${n(l.x1)},${n(l.y1)} L${n(l.x2)},${n(l.y2)}" stroke="${color}" data-lanes="${l.from} ${l.to}" data-nodes="${l.nodes[0]} ${l.nodes[1]}" data-event="${esc(l.event)}" data-ends="${n(l.x1)} ${n(l.y1)} ${n(l.x2)} ${n(l.y2)}"/>`;
}

function step(s: StepMark, layout: Layout, page: boolean): string {
  const lane = layout.lanes[s.lane]!;
  const color = s.violation ? COLORS.violation : s.aborted ? "#999999" : lane.color;
  const classes = `step ${s.kind}${s.violation ? " violation" : ""}${s.aborted ? " aborted" : ""}`;
  let shape: string;
  if (s.kind === "expire") {
    shape = `<line x1="${n(s.x)}" y1="${n(s.y - 10)}" x2="${n(s.x)}" y2="${n(s.y + 10)}" stroke="${COLORS.lost}" stroke-width="2" stroke-dasharray="3 2"/><text class="lost-label" x="${n(s.x + 3)}" y="${n(s.y - 12)}">expired</text>`;
  } else if (s.kind === "destroy") {
    shape = `<rect x="${n(s.x - 4)}" y="${n(s.y - 4)}" width="8" height="8" fill="#fff" stroke="${color}" stroke-width="2"/>`;
  } else if (s.kind === "release") {
    shape = `<path d="M${n(s.x)},${n(s.y - 5)} L${n(s.x + 5)},${n(s.y + 4)} L${n(s.x - 5)},${n(s.y + 4)} z" fill="#fff" stroke="${color}" stroke-width="2"/>`;
  } else {
    shape = `<circle cx="${n(s.x)}" cy="${n(s.y)}" r="4" fill="#fff" stroke="${color}" stroke-width="2"/>`;
  }
  if (s.aborted) {
    shape += `<path d="M${n(s.x - 5)},${n(s.y - 5)} L${n(s.x + 5)},${n(s.y + 5)} M${n(s.x + 5)},${n(s.y - 5)} L${n(s.x - 5)},${n(s.y + 5)}" stroke="#666" stroke-width="1.5"/>`;
  }
  const [attr, child] = tip(s.title, page);
  return `<g class="${classes}" data-lanes="${s.lane}" data-nodes="${s.nodes.join(" ")}" data-event="${esc(s.event)}" data-x="${n(s.x)}"${attr}>${child}${shape}</g>`;
}

function delivery(d: DeliveryMark, order: boolean, page: boolean): string {
  const classes = `delivery ${d.kind}${d.synthesized ? " lost" : ""}${d.violation ? " violation" : ""}`;
  const x = order ? d.orderX : d.x;
  let shape: string;
  if (d.kind === "destroyed") shape = destroyedShape(x, d.y);
  else if (d.kind === "released") shape = releasedShape(x, d.y);
  else shape = `<circle cx="${n(x)}" cy="${n(d.y)}" r="5.5" fill="${d.color}"/>`;
  if (d.synthesized) {
    shape += `<circle cx="${n(x)}" cy="${n(d.y)}" r="10" fill="none" stroke="${COLORS.lost}" stroke-dasharray="2 2"/><text class="lost-label" x="${n(x - 11)}" y="${n(d.y + 22)}">crash</text>`;
  }
  if (d.violation) {
    // The peer's own delivery order next to the timestamp order, where the checker objects.
    shape +=
      `<circle cx="${n(x)}" cy="${n(d.y)}" r="9" fill="none" stroke="${COLORS.violation}" stroke-width="2.5"/>` +
      `<text class="order" x="${n(x + 8)}" y="${n(d.y - 10)}" fill="${COLORS.violation}">#${d.position}</text>`;
  }
  // Drawn at x (the view's): the page moves it by the difference to where its view puts it.
  const [attr, child] = tip(d.title, page);
  return `<g class="${classes}" data-lanes="${d.lane}" data-nodes="${d.node}" data-event="${esc(d.event)}" data-x="${n(x)}" data-tx="${n(d.x)}" data-ox="${n(d.orderX)}"${attr}>${child}${shape}</g>`;
}

/**
 * A mark's tooltip: a `<title>` child in the static SVG; on the page a `data-title` attribute its
 * script shows on hover, which keeps a run of thousands of events to a third fewer elements.
 */
function tip(text: string, page: boolean): [attribute: string, child: string] {
  return page ? [` data-title="${esc(text)}"`, ""] : ["", `<title>${esc(text)}</title>`];
}

/** An orange square with a cross: the node is gone. */
function destroyedShape(x: number, y: number): string {
  return (
    `<rect x="${n(x - 6)}" y="${n(y - 6)}" width="12" height="12" fill="${COLORS.destroyed}" stroke="#8a4000" stroke-width="1"/>` +
    `<path d="M${n(x - 3.5)},${n(y - 3.5)} L${n(x + 3.5)},${n(y + 3.5)} M${n(x + 3.5)},${n(y - 3.5)} L${n(x - 3.5)},${n(y + 3.5)}" stroke="#ffffff" stroke-width="1.8"/>`
  );
}

/** A gold triangle: a handle let go. */
function releasedShape(x: number, y: number): string {
  return `<path d="M${n(x)},${n(y - 7)} L${n(x + 7)},${n(y + 5.5)} L${n(x - 7)},${n(y + 5.5)} z" fill="${COLORS.released}" stroke="#6b5200" stroke-width="1"/>`;
}

/** A zigzag where a lane ends without `close`. */
function crashMark(x: number, y: number, extra = ""): string {
  return `<path class="crash" d="M${n(x)},${n(y - 9)} L${n(x + 5)},${n(y - 3)} L${n(x)},${n(y + 3)} L${n(x + 5)},${n(y + 9)}" fill="none" stroke="${COLORS.lost}" stroke-width="2"${extra}/>`;
}

function violationList(layout: Layout, listed: Layout["violations"], top: number): string {
  if (layout.violationCount === 0) return "";
  const lines = listed.map(
    (v, i) =>
      `<text class="vlist" x="16" y="${top + 38 + i * 16}" fill="${COLORS.violation}">${esc(violationText(v))}</text>`,
  );
  const more = layout.violationCount - listed.length;
  if (more > 0)
    lines.push(`<text class="vlist" x="16" y="${top + 38 + listed.length * 16}">… and ${more} more</text>`);
  return `<g id="violation-list"><text x="16" y="${top + 18}" font-size="13" font-weight="700" fill="${COLORS.violation}">${layout.violationCount} violation${layout.violationCount === 1 ? "" : "s"} found by the checker</text>${lines.join("")}</g>`;
}

function violationText(v: Layout["violations"][number]): string {
  return `[${v.property}] ${v.message}${v.events.length > 0 ? ` (events: ${v.events.join(", ")})` : ""}`;
}
