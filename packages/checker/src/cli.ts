#!/usr/bin/env node
/** `tsx packages/checker/src/cli.ts <dir-or-files...>`: checks traces, exit 0 only if no violation. */
import { runCheckTrace } from "./cli-run.js";

process.exitCode = runCheckTrace(
  process.argv.slice(2),
  (text) => console.log(text),
  (text) => console.error(text),
);
