/** Finding tsx, so children run TypeScript wherever the test and the child scripts live. */
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";
import { TestkitError } from "./errors.js";

/**
 * The file URL of tsx's loader for `node --import`. Looked up from the child script first (the
 * project that owns the script may pin its own tsx), then from this package, so it works from any
 * working directory and with hoisted or nested node_modules alike.
 */
export function tsxLoader(script: string): string {
  const tried: string[] = [];
  for (const from of [script, import.meta.filename]) {
    try {
      return pathToFileURL(createRequire(from).resolve("tsx")).href;
    } catch (error) {
      tried.push(`${from}: ${error instanceof Error ? error.message.split("\n")[0] : String(error)}`);
    }
  }
  throw new TestkitError("E_NO_TSX", `cannot find tsx (npm i -D tsx):\n  ${tried.join("\n  ")}`);
}
