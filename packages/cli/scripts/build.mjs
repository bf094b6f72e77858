#!/usr/bin/env node
// @ts-check
/**
 * `npm run build:cli`: bundles the `capbus` command (src/main.ts and every workspace package it
 * imports) with esbuild into dist/bundle/, so bin/capbus.mjs starts without tsx (which resolves and
 * transforms the whole import tree on every start). Plain JS so it runs from `prepare` on `npm ci`
 * with nothing but Node and esbuild. Code splitting keeps `--help` from loading the peer: the
 * commands import @capbus/node and the checker lazily, and those become chunks loaded on demand.
 *
 * dist/bundle/inputs.json lists the workspace sources the bundle was built from; the launcher
 * falls back to tsx when any of them is newer than the bundle, so an edit is never run stale.
 */
import { rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const cli = join(dirname(fileURLToPath(import.meta.url)), "..");
const out = join(cli, "dist", "bundle");
const started = Date.now();

// `prepare` also runs where dev dependencies are left out; the launcher then runs the sources.
const esbuild = await import("esbuild").catch(() => undefined);
if (esbuild === undefined) {
  console.log("capbus CLI bundle: esbuild is not installed, skipped (capbus runs its sources under tsx)");
  process.exit(0);
}

rmSync(out, { recursive: true, force: true });
const result = await esbuild.build({
  absWorkingDir: cli,
  entryPoints: { capbus: "src/main.ts" },
  outdir: out,
  outExtension: { ".js": ".mjs" },
  bundle: true,
  splitting: true,
  platform: "node",
  format: "esm",
  target: "node20",
  conditions: ["@capbus/source"],
  // A native addon (cbor-x's optional accelerator): loaded from node_modules at run time.
  external: ["cbor-extract"],
  // The CommonJS dependencies inlined (ws, cbor-x) call require.
  banner: {
    js: 'import { createRequire as __capbusRequire } from "node:module"; const require = __capbusRequire(import.meta.url);',
  },
  metafile: true,
  logLevel: "error",
});

// Workspace sources only: dependencies change through npm install, which runs this build again.
const inputs = Object.keys(result.metafile.inputs)
  .filter((path) => !path.includes("node_modules"))
  .map((path) => relative(out, join(cli, path)));
writeFileSync(join(out, "inputs.json"), `${JSON.stringify(inputs)}\n`);

const bytes = Object.keys(result.metafile.outputs).reduce(
  (sum, path) => sum + statSync(join(cli, path)).size,
  0,
);
console.log(
  `capbus CLI bundle: ${relative(process.cwd(), out)} (${inputs.length} sources, ${Math.round(bytes / 1024)} KiB) in ${Date.now() - started} ms`,
);
