/** Starting one child: node with tsx, the source condition, and the kit's environment. */
import { spawn } from "node:child_process";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { TRACE_DIR_ENV } from "@capbus/trace/node";
import { bundleScript } from "./bundle.js";
import { PeerProcess, type PeerProcessOptions } from "./process.js";
import { INPUTS_ENV, NAME_ENV } from "./protocol.js";
import { tsxLoader } from "./tsx.js";

/** How a child script is started (arguments, environment, bundle or tsx). */
export interface SpawnOptions {
  /** Extra command-line arguments for the script. @default [] */
  readonly args?: readonly string[];
  /** Extra environment variables (the kit's own win: CAPBUS_TRACE, inputs, name). @default {} */
  readonly env?: Readonly<Record<string, string>>;
}

export interface SpawnContext extends PeerProcessOptions {
  readonly cwd: string;
  readonly traceDir: string;
  /** Export conditions to resolve packages with (e.g. `@capbus/source`). */
  readonly conditions: readonly string[];
  /**
   * `bundle`: run an esbuild bundle of the script (fast start). `tsx`: run the script under tsx
   * (slower start; use it when a child needs its own `import.meta.url` or lazy imports).
   */
  readonly run: "bundle" | "tsx";
}

export function spawnPeerProcess(
  name: string,
  script: string | URL,
  inputs: unknown,
  options: SpawnOptions,
  context: SpawnContext,
): PeerProcess {
  const path = script instanceof URL ? fileURLToPath(script) : resolve(context.cwd, script);
  const conditions = context.conditions.map((c) => `--conditions=${c}`);
  const node =
    context.run === "bundle"
      ? ["--enable-source-maps", bundleScript(path, context.cwd, context.conditions)]
      : [...conditions, "--import", tsxLoader(path), path];
  const child = spawn(process.execPath, [...node, ...(options.args ?? [])], {
    cwd: context.cwd,
    env: {
      ...process.env,
      ...options.env,
      [TRACE_DIR_ENV]: context.traceDir,
      [INPUTS_ENV]: JSON.stringify(inputs ?? {}),
      [NAME_ENV]: name,
    },
    stdio: ["pipe", "pipe", "pipe"],
  });
  return new PeerProcess(name, child, context);
}
