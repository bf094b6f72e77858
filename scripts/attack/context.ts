/** What each attacker function gets from the attacker process (scripts/attack/attacker.ts). */

/** Attack-specific figures, reported in the run's summary under `attacker`. */
export type Figures = Record<string, number | string | boolean | null>;

export interface AttackContext {
  /** The victim's ws endpoint (ws://127.0.0.1:port). */
  readonly endpoint: string;
  /** The victim's peer id. */
  readonly victim: string;
  /** A capability URL of the victim's `attack` node, for attacks that hold one; else undefined. */
  readonly url: string | undefined;
  /** The run's length. */
  readonly seconds: number;
  /** The victim's stage timeout (ms), which time-bound attacks scale to. */
  readonly stageTimeoutMs: number;
  /** True once the harness said stop (time is up, or the victim passed the RSS stop line). */
  stopped(): boolean;
  /** Resolves when the harness says stop. */
  readonly stop: Promise<void>;
  /** A line to the harness (e.g. `{ claimed: true }`, which some attacks' orchestration waits for). */
  tell(line: Record<string, unknown>): void;
  /** Filled by the attack; reported at the end. */
  readonly figures: Figures;
}

export type Attacker = (ctx: AttackContext) => Promise<void>;

/** The capability URL an attack needs (the catalog gives it to those that hold one). */
export function needUrl(ctx: AttackContext): string {
  if (ctx.url === undefined) throw new Error("this attack needs a capability URL");
  return ctx.url;
}

/** Sleep `ms`, or less if the harness says stop first. */
export function pause(ctx: AttackContext, ms: number): Promise<void> {
  return Promise.race([new Promise<void>((resolve) => setTimeout(resolve, ms)), ctx.stop]);
}

export function count(figures: Figures, key: string, by = 1): void {
  figures[key] = (Number(figures[key]) || 0) + by;
}
