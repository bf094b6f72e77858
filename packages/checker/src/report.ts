/** The checker's result types and the collector the checks report into. */

/** Which guarantee a violation breaks (ordering.md); `consistency` is a trace contradicting itself. */
export type Property = "P1" | "P2" | "P3" | "P4" | "P5" | "P6" | "consistency";
/** Every property the checker tests, in report order. */
export const PROPERTIES: readonly Property[] = ["P1", "P2", "P3", "P4", "P5", "P6", "consistency"];

/** One violation of a property, with the events and peers that show it. */
export interface Violation {
  property: Property;
  message: string;
  /** The events involved, the most telling first. */
  events: string[];
  /** The peers involved. */
  peers: string[];
}

/** What the checked traces contained. */
export interface TraceCounts {
  peers: number;
  /** Peers whose trace does not end with close (crashed or killed). */
  crashed: number;
  records: number;
  sends: number;
  destroys: number;
  releases: number;
  aborts: number;
  imports: number;
  expires: number;
  /** `reconcile` records: multicasts a destination settled after its session with the sender ended. */
  reconciles: number;
  deliveries: number;
  deliveriesByKind: { message: number; destroyed: number; released: number };
}

/**
 * Why a destination of a multicast delivered elsewhere did not deliver it (spec/trace.md §4.3).
 * Strict atomicity excuses the first five; the others are P4 violations in strict mode, and the
 * `sender lost` ones are excused in lenient mode (v1 traces, where nothing reconciled).
 *
 * - `fallback (W1)`: the destination recorded `reconcile` `fallback` for the event.
 * - `destination crashed`: the destination itself crashed (no `close`).
 * - `node destroyed first (P4b)`: the destination saw its node destroyed by an event the multicast
 *   did not happen before, at a `ts` below the multicast's final.
 * - `crashed holders only`: every destination that delivered it crashed.
 * - `sender expired it first (P4a)`: the sender recorded `expire` of the destination after its
 *   `send` (or before, with no `link` since), or never a `link` of it, before its own delivery
 *   of the event.
 * - `sender lost, live reachable`: the sender is crashed or expired to the destination, which
 *   did not record a fallback, and a live destination that delivered it never expired it.
 * - `sender lost, live unreachable`: the same, but every live destination that delivered it and
 *   the missing one expired each other.
 * - `dropped, live holder`: the destination recorded `reconcile` `dropped` although a live
 *   destination delivered the event.
 * - `unexplained`: the sender is neither crashed nor expired to the destination, and had a session
 *   with it.
 */
export type PartialCause =
  | "fallback (W1)"
  | "destination crashed"
  | "node destroyed first (P4b)"
  | "crashed holders only"
  | "sender expired it first (P4a)"
  | "sender lost, live reachable"
  | "sender lost, live unreachable"
  | "dropped, live holder"
  | "unexplained";

/** Every PartialCause, in report order. */
export const PARTIAL_CAUSES: readonly PartialCause[] = [
  "fallback (W1)",
  "destination crashed",
  "node destroyed first (P4b)",
  "crashed holders only",
  "sender expired it first (P4a)",
  "sender lost, live reachable",
  "sender lost, live unreachable",
  "dropped, live holder",
  "unexplained",
];

/** Multicasts delivered at some destinations and not at others, whatever the mode. */
export interface PartialMulticasts {
  /** Sends (not aborted) delivered at some of their destinations but not all. */
  events: number;
  /** Their missing destinations, by cause (a multicast may miss several). */
  missing: Partial<Record<PartialCause, number>>;
}

/** The result of checkTraces: whether every property held, what was checked, what was found. */
export interface CheckReport {
  /** True iff no violation was found. */
  ok: boolean;
  counts: TraceCounts;
  /** How many violations each property had (the list below may be capped). */
  violationCounts: Record<Property, number>;
  violations: Violation[];
  /** Expectations not checked, by reason (spec/trace.md, "Excused cases"). */
  excused: Record<string, number>;
  /** Partly delivered multicasts by cause, excused or not (spec/trace.md §4.3). */
  partial: PartialMulticasts;
  /** The atomicity mode the traces were checked in. */
  atomicity: Atomicity;
}

/**
 * How P4 treats a multicast whose sender was lost between its commits (spec/trace.md §4.3).
 * `lenient`: excused, as version 1 promised (window W1). `strict`: excused only when the missing
 * destination recorded a reconciliation `fallback`, crashed itself, was expired by the sender
 * first (P4a), or every destination that delivered it crashed (peers that reconcile, issue 22).
 */
export type Atomicity = "strict" | "lenient";

/** Options of checkTraces. */
export interface CheckOptions {
  /**
   * Violations listed per property; the rest are only counted.
   * @default 1000
   */
  maxViolationsPerProperty?: number;
  /**
   * The atomicity mode. Traces do not say which version wrote them, so the mode is the caller's
   * choice: `strict` for peers that reconcile (issue 22), `lenient` for version 1.
   * @default "lenient"
   */
  atomicity?: Atomicity;
}

export class Collector {
  readonly violations: Violation[] = [];
  readonly violationCounts: Record<Property, number> = {
    P1: 0,
    P2: 0,
    P3: 0,
    P4: 0,
    P5: 0,
    P6: 0,
    consistency: 0,
  };
  readonly excused: Record<string, number> = {};
  readonly partial: PartialMulticasts = { events: 0, missing: {} };

  constructor(private readonly max: number) {}

  violation(property: Property, message: string, events: string[], peers: string[]): void {
    if (this.violationCounts[property]++ < this.max)
      this.violations.push({ property, message, events, peers });
  }

  /** True while `property` still has room in the list (to skip costly witness searches). */
  wants(property: Property): boolean {
    return this.violationCounts[property] < this.max;
  }

  excuse(reason: string): void {
    this.excused[reason] = (this.excused[reason] ?? 0) + 1;
  }

  partialMissing(cause: PartialCause): void {
    this.partial.missing[cause] = (this.partial.missing[cause] ?? 0) + 1;
  }
}
