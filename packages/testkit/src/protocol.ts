/**
 * How the kit and a child talk, so either side can be written without the other: inputs go in
 * an environment variable as JSON; then both sides exchange one JSON object per line, the child
 * on stdout and the kit on the child's stdin. Any stdout line that is not a JSON object is the
 * child's own output and is only kept for diagnostics.
 */

/** JSON of the child's inputs (whatever the test passed to `kit.spawn`). */
export const INPUTS_ENV = "CAPBUS_TESTKIT_INPUTS";
/** The name the test gave the child (for its own logs). */
export const NAME_ENV = "CAPBUS_TESTKIT_NAME";

/** Capability URLs a child offers, by a name the test picks (e.g. `{ inbox: "capbus://..." }`). */
export type Urls = Readonly<Record<string, string>>;

/** A line either side sends: one JSON object. */
export type Line = Readonly<Record<string, unknown>>;

/** The line a child prints once it listens and has exported what it offers. */
export interface ReadyLine extends Line {
  readonly ready: true;
  readonly urls: Urls;
  /** The child's peer id, when it has one peer (its trace file is `<peer>.jsonl`). */
  readonly peer?: string;
}

export function encodeLine(line: Line): string {
  return `${JSON.stringify(line)}\n`;
}

/** The object on `text`, or undefined when the line is not a JSON object (plain output). */
export function parseLine(text: string): Line | undefined {
  if (!text.startsWith("{")) return undefined;
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Line) : undefined;
  } catch {
    return undefined;
  }
}

export function isReadyLine(line: Line): line is ReadyLine {
  return line.ready === true && typeof line.urls === "object" && line.urls !== null;
}
