#!/usr/bin/env node
// The `capbus` command of the installed package: the CLI's build, run in this process (its exit code
// is the command's). The repository's own launcher is packages/cli/bin/capbus.mjs (bundle or sources).
import { main } from "../dist/cli/main.js";

process.exitCode = await main(process.argv.slice(2));
