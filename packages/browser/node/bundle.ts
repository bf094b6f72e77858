/**
 * Bundling for pages (Node side): esbuild, for the browser, with the workspace's TypeScript
 * sources (`@capbus/source`). cbor-x needs no shim: for the browser its package resolves to its
 * plain ES module, which uses Uint8Array where Node has Buffer. zod is slimmed (./zod-slim.js):
 * `import { z } from "zod"` would bring all of zod's namespace, 450 KB minified, into every page.
 */
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { build, type Plugin } from "esbuild";

/**
 * The library's entry point: `@capbus/browser` itself. Its TypeScript source when this module runs
 * from node/bundle.ts (the repository), its build when from dist/node/bundle.js (an installed package,
 * which has no sources).
 */
export const LIBRARY_ENTRY = fileURLToPath(
  new URL(import.meta.url.endsWith(".ts") ? "../src/index.ts" : "../index.js", import.meta.url),
);

export interface BundleOptions {
  /** Expose the entry's exports as this global (an IIFE); otherwise an ES module. */
  readonly globalName?: string;
  /** @default true */
  readonly minify?: boolean;
}

export interface Bundle {
  readonly code: string;
  readonly bytes: number;
  readonly gzipBytes: number;
}

/** Bundle `entry` (a file path) and everything it imports into one script for Chromium. */
export async function bundleForBrowser(entry: string, options: BundleOptions = {}): Promise<Bundle> {
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    write: false,
    platform: "browser",
    format: options.globalName === undefined ? "esm" : "iife",
    ...(options.globalName === undefined ? {} : { globalName: options.globalName }),
    target: "es2022",
    conditions: ["@capbus/source"],
    minify: options.minify ?? true,
    legalComments: "none",
    logLevel: "silent",
    plugins: [slimZod],
  });
  const file = result.outputFiles[0];
  if (!file) throw new Error(`esbuild produced nothing for ${entry}`);
  return { code: file.text, bytes: file.contents.byteLength, gzipBytes: gzipSync(file.contents).byteLength };
}

const ZOD_DIR = dirname(createRequire(import.meta.url).resolve("zod/package.json"));
const ZOD_SLIM = fileURLToPath(new URL("./zod-slim.js", import.meta.url));

/** `zod` → ./zod-slim.js, whose `zod:schemas` is zod's classic schema module itself. */
const slimZod: Plugin = {
  name: "capbus-slim-zod",
  setup(b) {
    b.onResolve({ filter: /^zod$/ }, () => ({ path: ZOD_SLIM }));
    b.onResolve({ filter: /^zod:schemas$/ }, () => ({ path: join(ZOD_DIR, "v4/classic/schemas.js") }));
  },
};
