#!/usr/bin/env node
// The `capbus` command. Fast path: the esbuild bundle that `npm run build:cli` (and `prepare`, on
// `npm ci`) writes to dist/bundle/, used only while no source it was built from is newer than it.
// Otherwise the packages' TypeScript sources run through tsx: its loader and a resolve hook that
// adds the `@capbus/source` export condition are registered in this process (no child process:
// signals and exit codes are the command's own). CAPBUS_CLI_SOURCE=1 forces the tsx path.
import { readFileSync, statSync } from "node:fs";
import { register } from "node:module";

const bundleDir = new URL("../dist/bundle/", import.meta.url);

/** The bundle's entry, when it exists and is at least as new as every source it was built from. */
function freshBundle() {
  if (process.env.CAPBUS_CLI_SOURCE === "1") return undefined;
  try {
    const entry = new URL("capbus.mjs", bundleDir);
    const built = statSync(entry).mtimeMs;
    const inputs = JSON.parse(readFileSync(new URL("inputs.json", bundleDir), "utf8"));
    for (const input of inputs) {
      // Sources that are not there (an installed package has only its own) cannot be newer.
      const source = statSync(new URL(input, bundleDir), { throwIfNoEntry: false });
      if (source !== undefined && source.mtimeMs > built) return undefined;
    }
    return entry.href;
  } catch {
    return undefined; // no bundle (or an unreadable one): run the sources
  }
}

async function fromSources() {
  const hooks = `export async function resolve(specifier, context, next) {
  const conditions = context.conditions.includes("@capbus/source")
    ? context.conditions
    : [...context.conditions, "@capbus/source"];
  return next(specifier, { ...context, conditions });
}`;
  register(`data:text/javascript,${encodeURIComponent(hooks)}`);
  const { register: registerTsx } = await import("tsx/esm/api");
  registerTsx();
  return import("../src/main.ts");
}

const bundle = freshBundle();
const { main } = bundle === undefined ? await fromSources() : await import(bundle);
process.exitCode = await main(process.argv.slice(2));
