/** `npm run build -w @capbus/browser`: write dist/capbus.min.js (global `capbus`) and print its size. */
import { mkdirSync, writeFileSync } from "node:fs";
import { bundleForBrowser, LIBRARY_ENTRY } from "./bundle.js";

const out = new URL("../dist/", import.meta.url);
mkdirSync(out, { recursive: true });
const bundle = await bundleForBrowser(LIBRARY_ENTRY, { globalName: "capbus" });
writeFileSync(new URL("capbus.min.js", out), bundle.code);
console.log(
  `dist/capbus.min.js: ${(bundle.bytes / 1024).toFixed(1)} KiB minified, ${(bundle.gzipBytes / 1024).toFixed(1)} KiB gzipped`,
);
