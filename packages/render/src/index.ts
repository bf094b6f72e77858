/**
 * @capbus/render: space-time (Lamport) diagrams of a capbus run from its traces (spec/trace.md).
 * `layoutRun(traces, report)` computes the picture as data; `renderSvg` and `renderHtml` write it.
 * No Node APIs: reading files and running the checker are the caller's.
 *
 * @module @capbus/render
 */
export { renderHtml } from "./html.js";
export { layoutRun } from "./layout.js";
export type {
  Arrow,
  Column,
  DeliveryKind,
  DeliveryMark,
  Lane,
  Layout,
  LayoutOptions,
  OrderLine,
  StepKind,
  StepMark,
  ViolationNote,
} from "./model.js";
export { renderSvg, type SvgOptions } from "./svg.js";
