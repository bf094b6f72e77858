/**
 * The package a project installs, checked the way a project gets it (README, "Use it in your
 * project"): `npm run pack:dist` in the repository, then in an empty project in a temp dir (outside
 * the clone, so nothing resolves from it) `npm install` of the tarball alone. There the test
 * type-checks and runs a program (two peers over ws and a Unix socket: a message, a request and its
 * reply), the README's first example, a testkit test, every export under plain Node, and the
 * `capbus` command. Slow (a clean build and an install): `npm run test:pack`, part of test:full.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import {
  copyFileSync,
  lstatSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { pathToFileURL } from "node:url";

const ROOT = join(import.meta.dirname, "..", "..");
const FIXTURES = join(import.meta.dirname, "fixtures");

interface Ran {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Processes started and not yet ended; each leads its own process group (npm and node start more). */
const running = new Set<ChildProcess>();

function killGroup(child: ChildProcess): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, "SIGKILL");
  } catch {
    // already gone
  }
}

/** The environment of a user's shell: none of this run's npm, Node or capbus settings. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^(npm_|NODE_OPTIONS$|NODE_TEST|CAPBUS_)/i.test(key)) continue;
    env[key] = value;
  }
  return env;
}

function run(command: string, args: readonly string[], cwd: string, timeoutMs: number): Promise<Ran> {
  const child = spawn(command, args, {
    cwd,
    env: cleanEnv(),
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  running.add(child);
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const timer = setTimeout(() => killGroup(child), timeoutMs);
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      running.delete(child);
      resolve({ code, stdout, stderr });
    });
  });
}

function ok(ran: Ran, what: string): string {
  assert.equal(ran.code, 0, `${what} failed:\n${ran.stdout}\n${ran.stderr}`);
  return ran.stdout;
}

/** The root package.json's devDependencies: the versions already in the npm cache. */
function devVersion(name: string): string {
  const manifest = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as {
    devDependencies: Record<string, string>;
  };
  const range = manifest.devDependencies[name];
  assert.ok(range, `the root package.json has no ${name}`);
  return `${name}@${range}`;
}

/** Every ```ts block under an `@example` tag in the installed declarations: self-contained programs. */
function docExamples(text: string): string[] {
  const found = text.matchAll(/@example\s*\n\s*\*\s*```ts\n([\s\S]*?)\n\s*\*\s*```/g);
  return [...found].map((match) => `${(match[1] ?? "").replace(/^\s*\* ?/gm, "")}\n`);
}

/** Write the API reference's examples into the project as example-<n>.ts (tsc checks them); their count. */
function writeExamples(installed: string, project: string): number {
  const declarations = readdirSync(join(installed, "dist"), { recursive: true, encoding: "utf8" }).filter(
    (file) => file.endsWith(".d.ts"),
  );
  const examples = declarations.flatMap((file) =>
    docExamples(readFileSync(join(installed, "dist", file), "utf8")),
  );
  examples.forEach((code, index) => {
    writeFileSync(join(project, `example-${index}.ts`), code);
  });
  return examples.length;
}

test("the capbus tarball installs into an empty project and works there without the clone", {
  timeout: 900_000,
}, async (t) => {
  const project = mkdtempSync(join(tmpdir(), "capbus-pack-"));
  t.after(() => {
    for (const child of running) killGroup(child);
    rmSync(project, { recursive: true, force: true });
  });
  assert.ok(!realpathSync(project).startsWith(realpathSync(ROOT)), "the project is outside the clone");

  // The README's commands, in order.
  const tarball = ok(
    await run("npm", ["run", "--silent", "pack:dist"], ROOT, 600_000),
    "npm run pack:dist",
  ).trim();
  assert.match(tarball, /capbus-\d+\.\d+\.\d+\.tgz$/);
  ok(await run("npm", ["init", "-y"], project, 60_000), "npm init");
  ok(await run("npm", ["pkg", "set", "type=module"], project, 60_000), "npm pkg set type");
  ok(
    await run("npm", ["pkg", "set", "overrides.cbor-extract=2.2.2"], project, 60_000),
    "npm pkg set overrides",
  );
  const npmInstall = ["install", "--prefer-offline", "--no-audit", "--no-fund"];
  ok(await run("npm", [...npmInstall, tarball], project, 300_000), "npm install <tarball>");
  // What a TypeScript project adds for itself.
  const tools = ["typescript", "tsx", "@types/node"].map(devVersion);
  ok(await run("npm", [...npmInstall, "--save-dev", ...tools], project, 300_000), "npm install -D tools");

  const installed = join(project, "node_modules", "capbus");
  assert.ok(lstatSync(installed).isDirectory() && !lstatSync(installed).isSymbolicLink(), "capbus is a copy");
  assert.deepEqual(
    readdirSync(join(project, "node_modules")).filter((name) => name === "@capbus"),
    [],
    "no @capbus/* package is needed beside capbus",
  );

  for (const file of readdirSync(FIXTURES)) copyFileSync(join(FIXTURES, file), join(project, file));
  copyFileSync(join(ROOT, "examples", "readme", "main.ts"), join(project, "readme.ts"));

  await t.test(
    "the published types check: tsc over the program, the test, the README's and the API reference's examples",
    async () => {
      const written = writeExamples(installed, project);
      assert.ok(written >= 5, `@example blocks (startPeer, send, request, channel, testKit): ${written}`);
      ok(
        await run(process.execPath, ["node_modules/typescript/bin/tsc", "-p", "."], project, 180_000),
        "tsc",
      );
    },
  );

  await t.test("every export loads under plain Node, from the installed package", async () => {
    const loaded = JSON.parse(
      ok(await run(process.execPath, ["exports.mjs"], project, 60_000), "exports.mjs"),
    ) as Record<string, { resolved: string; names: number }>;
    assert.ok(
      Object.keys(loaded).includes("capbus/node") && Object.keys(loaded).includes("capbus/testkit/child"),
    );
    for (const [specifier, { resolved, names }] of Object.entries(loaded)) {
      assert.ok(
        resolved.startsWith(pathToFileURL(realpathSync(installed)).href),
        `${specifier} -> ${resolved}`,
      );
      assert.ok(names > 0, `${specifier} exports something`);
    }
  });

  await t.test("capbus/browser/bundle bundles the library and a page's script for the browser", async () => {
    const out = ok(await run(process.execPath, ["bundle.mjs"], project, 120_000), "bundle.mjs");
    const sizes = JSON.parse(out) as { library: number; page: number; startBrowserPeer: boolean };
    assert.ok(sizes.library > 50_000 && sizes.page > 50_000, out);
    assert.ok(sizes.startBrowserPeer, "the library bundle has startBrowserPeer");
  });

  await t.test("two peers exchange a message and a request/reply", async () => {
    const out = ok(
      await run(process.execPath, ["--import", "tsx", "program.ts"], project, 60_000),
      "program.ts",
    );
    assert.match(out, /\{"message":\{"hello":"world"\},"lamport":\d+\}/);
    assert.match(out, /\{"reply":5\}/);
  });

  await t.test("the README's first example runs as it is written", async () => {
    const out = ok(
      await run(process.execPath, ["--import", "tsx", "readme.ts"], project, 60_000),
      "readme.ts",
    );
    assert.match(out, /a got \{ hello: 'world' \}/);
    assert.match(out, /b was told: destroyed/);
  });

  await t.test("a testkit test passes: two peer processes, their traces checked", async () => {
    const ran = await run(process.execPath, ["--import", "tsx", "--test", "hello.test.ts"], project, 180_000);
    assert.match(ok(ran, "hello.test.ts"), /# pass 1\n# fail 0/);
  });

  await t.test("the conformance kit finds the spec's vectors inside the installed package", async () => {
    const script = "import('capbus/conformance').then((m) => console.log(m.defaultVectors()))";
    const found = ok(
      await run(process.execPath, ["--input-type=module", "-e", script], project, 60_000),
      "defaultVectors",
    ).trim();
    assert.ok(found.startsWith(realpathSync(installed)), `${found} is in the installed package`);
    const frames = readdirSync(join(found, "frames"));
    assert.deepEqual(frames.sort(), readdirSync(join(ROOT, "spec", "vectors", "frames")).sort());
  });

  await t.test("the capbus command runs", async () => {
    const out = ok(
      await run(join(project, "node_modules", ".bin", "capbus"), ["--help"], project, 60_000),
      "capbus",
    );
    assert.match(out, /usage: capbus <command>/);
  });
});
