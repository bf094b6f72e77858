/** Traffic counters, kept per link end and summed per endpoint and network-wide. */

export interface TrafficCounters {
  framesSent: number;
  bytesSent: number;
  framesReceived: number;
  bytesReceived: number;
  /** Frames this end sent that were never handed to the remote handler (cut, or remote closed). */
  framesLost: number;
}

/** One link's traffic, per end. */
export interface LinkStats {
  readonly id: number;
  readonly a: string;
  readonly b: string;
  /** False once both ends' handlers have had `closed` (or a cut made the link unusable). */
  readonly open: boolean;
  readonly aEnd: Readonly<TrafficCounters>;
  readonly bEnd: Readonly<TrafficCounters>;
}

/** A SimNetwork's traffic: per link, per endpoint, and in total. */
export interface NetworkStats {
  readonly links: readonly LinkStats[];
  /** Per endpoint name, summed over every link that endpoint has had. */
  readonly endpoints: ReadonlyMap<string, Readonly<TrafficCounters>>;
  readonly totals: Readonly<TrafficCounters>;
}

export function zeroCounters(): TrafficCounters {
  return { framesSent: 0, bytesSent: 0, framesReceived: 0, bytesReceived: 0, framesLost: 0 };
}

export function addCounters(into: TrafficCounters, c: Readonly<TrafficCounters>): void {
  into.framesSent += c.framesSent;
  into.bytesSent += c.bytesSent;
  into.framesReceived += c.framesReceived;
  into.bytesReceived += c.bytesReceived;
  into.framesLost += c.framesLost;
}
