/**
 * The layout model of a space-time diagram: plain data with every position already computed, so
 * the SVG and HTML writers only draw, and tests can assert on the layout without parsing markup.
 * Coordinates are user units of the SVG (1 unit = 1 CSS pixel at zoom 1).
 */
import type { Property } from "@capbus/checker";
import type { TraceTimestamp } from "@capbus/trace";

/** What a delivery was: a message or one of the two notifications. */
export type DeliveryKind = "message" | "destroyed" | "released";
/** The local steps drawn on a lane besides deliveries. */
export type StepKind = "send" | "destroy" | "release" | "expire";

/**
 * One peer's horizontal lane. Top to bottom: peers with a name by name, then the others by id.
 */
export interface Lane {
  readonly peer: string;
  /** The `name` of the peer's `start` record (`PeerOptions.name`), if it has one. */
  readonly name: string | undefined;
  /** The lane label: the name, else the peer id, shortened to fit (the full id is in `peer`). */
  readonly label: string;
  readonly y: number;
  /** Where the lane's line starts and ends (its first and last drawn step). */
  readonly x1: number;
  readonly x2: number;
  /** Where the lane's line ends in the delivery-order view (`orderX` of its last delivery, and a margin). */
  readonly orderX2: number;
  /** The trace has no `close`: the peer crashed or was killed. */
  readonly crashed: boolean;
  /** A colour of the palette, for this peer's marks and the arrows it sends. */
  readonly color: string;
  /** Named by a violation of the checker's report. */
  readonly violation: boolean;
}

/** One tick of the time axis: the final timestamp of one event (or of one delivery, if they differ). */
export interface Column {
  readonly x: number;
  readonly ts: TraceTimestamp;
  readonly event: string;
}

/** One delivery: a mark on the receiving peer's lane at its event's column. */
export interface DeliveryMark {
  readonly lane: number;
  readonly x: number;
  readonly y: number;
  readonly event: string;
  readonly kind: DeliveryKind;
  /** Index into `Layout.nodes`. */
  readonly node: number;
  readonly ts: TraceTimestamp;
  /** 1-based position among the lane's deliveries: the peer's own order, which a violation may contradict. */
  readonly position: number;
  /**
   * x in the delivery-order view: the lane's deliveries evenly spaced in the peer's own order
   * (deliveries of one event at several of its nodes share a place, stacked as at `x`).
   */
  readonly orderX: number;
  /**
   * No record created the event: a notification synthesized for a lost peer (spec/trace.md W11),
   * or an event of an untraced sender. Drawn without an arrow, marked as a loss.
   */
  readonly synthesized: boolean;
  /** Named by a violation of the checker's report. */
  readonly violation: boolean;
  /** The sender's lane colour (grey when no lane created the event). */
  readonly color: string;
  /** One line of text describing the mark (tooltip). */
  readonly title: string;
}

/** A local step (send, destroy, release, expire) on its peer's lane, in the peer's order. */
export interface StepMark {
  readonly lane: number;
  readonly x: number;
  readonly y: number;
  readonly kind: StepKind;
  /** The event the step created; for `expire`, empty. */
  readonly event: string;
  /** Nodes the step concerns (destinations, destroyed or released nodes), as `Layout.nodes` indexes. */
  readonly nodes: readonly number[];
  /** The sender gave up the round (an `abort` record). */
  readonly aborted: boolean;
  readonly violation: boolean;
  readonly title: string;
}

/** From the step that created an event to one delivery of it. */
export interface Arrow {
  readonly from: number;
  readonly to: number;
  readonly x1: number;
  readonly y1: number;
  readonly x2: number;
  readonly y2: number;
  readonly event: string;
  readonly kind: DeliveryKind;
  readonly node: number;
  readonly violation: boolean;
  readonly color: string;
}

/**
 * The delivery-order view: a line from an event's first delivery on one lane to its first
 * delivery on the next lane down that delivers it. Deliveries are placed in each peer's own order,
 * so two peers that order two events differently (a P1 inversion) show as crossing lines.
 */
export interface OrderLine {
  readonly event: string;
  readonly from: number;
  readonly to: number;
  readonly x1: number;
  readonly y1: number;
  readonly x2: number;
  readonly y2: number;
  /** The nodes of the two deliveries (`Layout.nodes` indexes). */
  readonly nodes: readonly [number, number];
  /** Both deliveries are named by a violation of the checker's report. */
  readonly violation: boolean;
  /** The sender's lane colour (grey when no lane created the event). */
  readonly color: string;
}

/** One violation the checker reported, as listed under the diagram. */
export interface ViolationNote {
  readonly property: Property;
  readonly message: string;
  readonly events: readonly string[];
  readonly peers: readonly string[];
}

/** The whole diagram as data: lanes, columns, marks, arrows and the checker's verdict. */
export interface Layout {
  readonly title: string;
  readonly width: number;
  readonly height: number;
  /** y of the time axis labels. */
  readonly axisY: number;
  /** x where the plot starts (left of it: lane labels). */
  readonly plotX: number;
  readonly lanes: readonly Lane[];
  readonly columns: readonly Column[];
  /** Every node named anywhere, sorted; marks refer to them by index. */
  readonly nodes: readonly string[];
  readonly steps: readonly StepMark[];
  readonly deliveries: readonly DeliveryMark[];
  readonly arrows: readonly Arrow[];
  /** The delivery-order view's lines between lanes. */
  readonly orderLines: readonly OrderLine[];
  /** Width of the delivery-order view (its lanes are the same). */
  readonly orderWidth: number;
  /** The checker's violations as listed in its report, and how many there were in all. */
  readonly violations: readonly ViolationNote[];
  readonly violationCount: number;
  /** One line summing up the run (peers, events, deliveries, violations). */
  readonly summary: string;
}

/** Options of `layoutRun`. */
export interface LayoutOptions {
  /** @default "capbus run" */
  readonly title?: string;
  /** Width of one time column, and of one place in the delivery-order view. @default 30 */
  readonly columnWidth?: number;
  /** Distance between lanes. @default 90 */
  readonly laneGap?: number;
  /** Room for each local step (send, destroy, release, expire) between columns. @default 14 */
  readonly stepWidth?: number;
  /** Width left of the plot for lane labels. @default 150 */
  readonly labelWidth?: number;
}
