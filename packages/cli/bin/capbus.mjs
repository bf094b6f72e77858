#!/usr/bin/env node
// The `capbus` command. The packages ship TypeScript sources, so this launcher registers tsx's
// loader and a resolve hook that adds the `@capbus/source` export condition, in this process
// (no child process: signals and exit codes are the command's own), then runs src/main.ts.
import { register } from "node:module";
import { register as registerTsx } from "tsx/esm/api";

const hooks = `export async function resolve(specifier, context, next) {
  const conditions = context.conditions.includes("@capbus/source")
    ? context.conditions
    : [...context.conditions, "@capbus/source"];
  return next(specifier, { ...context, conditions });
}`;
register(`data:text/javascript,${encodeURIComponent(hooks)}`);
registerTsx();
const { main } = await import("../src/main.ts");
process.exitCode = await main(process.argv.slice(2));
