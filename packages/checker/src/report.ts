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
  deliveries: number;
  deliveriesByKind: { message: number; destroyed: number; released: number };
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
}

/** Options of checkTraces. */
export interface CheckOptions {
  /**
   * Violations listed per property; the rest are only counted.
   * @default 1000
   */
  maxViolationsPerProperty?: number;
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
}
