/** Helpers that make a failing seeded run reproducible with one copy-pasted command. */

export const SEED_ENV = "CAPBUS_SEED";

/** What else the printed replay command needs besides the seed. */
export interface ReplayExtra {
  /** Passed as --test-name-pattern, to rerun just the failing test. */
  readonly testNamePattern?: string;
  /** More environment variables to set on the command line. */
  readonly env?: Readonly<Record<string, string>>;
}

/** The one-line shell command that replays `seed` for `testFile`. */
export function formatReplay(seed: number, testFile: string, extra: ReplayExtra = {}): string {
  const env = Object.entries(extra.env ?? {}).map(([k, v]) => `${k}=${shellQuote(v)} `);
  const pattern =
    extra.testNamePattern === undefined ? "" : ` --test-name-pattern=${shellQuote(extra.testNamePattern)}`;
  return (
    `${SEED_ENV}=${seed} ${env.join("")}node --conditions=@capbus/source --import tsx --test` +
    `${pattern} ${shellQuote(testFile)}`
  );
}

/**
 * The seed from CAPBUS_SEED (decimal or 0x-hex 32-bit unsigned) or `defaultSeed` when unset.
 * Reads the environment through globalThis so the module stays free of Node imports.
 */
export function seedFromEnv(defaultSeed: number): number {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  const raw = env?.[SEED_ENV]?.trim();
  if (raw === undefined || raw === "") return defaultSeed;
  const seed = Number(raw);
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
    throw new RangeError(`${SEED_ENV}=${raw} is not a 32-bit unsigned integer`);
  }
  return seed;
}

/**
 * Runs `fn(seed)`; if it throws (or rejects), rethrows with the replay command appended to the
 * message, so the failure report says how to reproduce it.
 */
export async function withReplay<T>(
  seed: number,
  testFile: string,
  fn: (seed: number) => T | Promise<T>,
  extra: ReplayExtra = {},
): Promise<T> {
  try {
    return await fn(seed);
  } catch (err) {
    const line = `replay: ${formatReplay(seed, testFile, extra)}`;
    if (err instanceof Error) {
      err.message = `${err.message}\n${line}`;
      throw err;
    }
    throw new Error(`${String(err)}\n${line}`, { cause: err });
  }
}

function shellQuote(s: string): string {
  return /^[\w./@:=+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}
