/**
 * `npm run pack:dist`: the one package a project installs, `dist/capbus-<version>.tgz`.
 *
 * The workspace's @capbus/* packages are private parts; what ships is `capbus` (packages/capbus),
 * whose subpaths are those parts: `capbus/node` is @capbus/node, `capbus/testkit/child` is
 * @capbus/testkit/child. One tarball, because a set of packages that name each other resolves only
 * from a registry: `npm install ./capbus-node.tgz` alone asks the registry for @capbus/core.
 *
 * Steps: a clean `tsc -b` of every part (and the CLI bundle again, which the clean removed); each
 * part's compiled dist copied to dist/capbus/dist/<part>/, its `@capbus/...` import specifiers
 * rewritten to relative paths; packages/capbus/package.json written without its `private` flag and
 * its `@capbus/source` conditions (an installed package has no sources), after checking that its
 * exports are exactly the parts' exports and its dependencies exactly theirs; spec/vectors copied in
 * (the conformance kit reads them); then `npm pack`.
 */
import { execFileSync } from "node:child_process";
import {
  chmodSync,
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { dirname, join, posix } from "node:path";

const ROOT = join(import.meta.dirname, "..");
const TEMPLATE = join(ROOT, "packages", "capbus");
const OUT = join(ROOT, "dist");
const STAGE = join(OUT, "capbus");
const SCOPE = "@capbus/";

type Conditions = Readonly<Record<string, string>>;

interface Manifest {
  readonly name: string;
  readonly version: string;
  readonly exports: Readonly<Record<string, Conditions | string>>;
  readonly dependencies?: Readonly<Record<string, string>>;
  readonly [field: string]: unknown;
}

/** A workspace part: `core` for @capbus/core, its directory and manifest. */
interface Part {
  readonly short: string;
  readonly dir: string;
  readonly manifest: Manifest;
}

function readManifest(dir: string): Manifest {
  return JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as Manifest;
}

function parts(): Part[] {
  return readdirSync(join(ROOT, "packages"))
    .map((name) => join(ROOT, "packages", name))
    .filter((dir) => dir !== TEMPLATE && existsSync(join(dir, "package.json")))
    .map((dir) => ({ dir, manifest: readManifest(dir) }))
    .map(({ dir, manifest }) => ({ short: manifest.name.slice(SCOPE.length), dir, manifest }));
}

/** Run a step; its output goes to stderr, so this script's stdout is the tarball's path alone. */
function run(command: string, args: readonly string[], cwd = ROOT): void {
  execFileSync(command, args, { cwd, stdio: ["ignore", 2, 2] });
}

/** A clean build, so no file of a deleted source lingers in a dist and ships. */
function build(all: readonly Part[]): void {
  for (const { dir } of all) {
    rmSync(join(dir, "dist"), { recursive: true, force: true });
    for (const file of readdirSync(dir)) if (file.endsWith(".tsbuildinfo")) rmSync(join(dir, file));
  }
  run(process.execPath, [
    join(ROOT, "node_modules", "typescript", "bin", "tsc"),
    "-b",
    "tsconfig.build.json",
  ]);
  run(process.execPath, [join(ROOT, "packages", "cli", "scripts", "build.mjs")]);
}

/** `./dist/x.js` of a part's export → the file inside the part's dist (`x.js`). */
function distFile(part: Part, subpath: string, condition: "types" | "default"): string {
  const entry = part.manifest.exports[subpath];
  const target = typeof entry === "string" ? entry : entry?.[condition];
  if (target === undefined || !target.startsWith("./dist/")) {
    throw new Error(`${part.manifest.name} exports ${subpath} without a ${condition} file in dist`);
  }
  return target.slice("./dist/".length);
}

/** Where `@capbus/core` or `@capbus/trace/node` lands in the staged package, as a path under dist/. */
function specifierTargets(all: readonly Part[]): Map<string, string> {
  const targets = new Map<string, string>();
  for (const part of all) {
    for (const subpath of Object.keys(part.manifest.exports)) {
      targets.set(
        `${part.manifest.name}${subpath.slice(1)}`,
        `${part.short}/${distFile(part, subpath, "default")}`,
      );
    }
  }
  return targets;
}

/** tsc's output: every compiled `x.js` has its `x.d.ts` (other files in a dist, like the CLI bundle, do not). */
function compiledFiles(dist: string, under = ""): string[] {
  return readdirSync(join(dist, under), { withFileTypes: true }).flatMap((entry) => {
    const path = posix.join(under, entry.name);
    if (entry.isDirectory()) return compiledFiles(dist, path);
    if (path.endsWith(".d.ts")) return [path];
    return path.endsWith(".js") && existsSync(join(dist, path.replace(/\.js$/, ".d.ts"))) ? [path] : [];
  });
}

/** `from "@capbus/x"`, `import("@capbus/x")`, `import "@capbus/x"`: a module specifier, not a method call's argument. */
const IMPORT_SPECIFIER =
  /((?<![.$\w])from\s*|(?<![.$\w])import\s*\(\s*|(?<![.$\w])import\s+)(["'])(@capbus\/[^"']+)\2/g;
const SOURCE_MAP_COMMENT = /\n?\/\/# sourceMappingURL=\S+\s*$/;

/** A compiled file with `@capbus/...` imports made relative (`../core/index.js`) and no source map link. */
function rewrite(text: string, fromDir: string, targets: ReadonlyMap<string, string>): string {
  return text
    .replace(IMPORT_SPECIFIER, (_match, lead: string, quote: string, specifier: string) => {
      const target = targets.get(specifier);
      if (target === undefined) throw new Error(`${fromDir}: no part exports ${specifier}`);
      const path = posix.relative(fromDir, target);
      return `${lead}${quote}${path.startsWith(".") ? path : `./${path}`}${quote}`;
    })
    .replace(SOURCE_MAP_COMMENT, "\n");
}

function stageParts(all: readonly Part[]): void {
  const targets = specifierTargets(all);
  for (const part of all) {
    const dist = join(part.dir, "dist");
    if (!existsSync(dist)) {
      throw new Error(`${part.manifest.name} has no dist/ after the build: add it to tsconfig.build.json`);
    }
    for (const file of compiledFiles(dist)) {
      const staged = posix.join(part.short, file);
      const text = rewrite(readFileSync(join(dist, file), "utf8"), posix.dirname(staged), targets);
      mkdirSync(join(STAGE, "dist", dirname(staged)), { recursive: true });
      writeFileSync(join(STAGE, "dist", staged), text);
    }
  }
}

function sameKeys(what: string, actual: readonly string[], expected: readonly string[]): void {
  const a = [...actual].sort().join(", ");
  const e = [...expected].sort().join(", ");
  if (a !== e) throw new Error(`packages/capbus/package.json ${what}: has [${a}], the parts need [${e}]`);
}

/** What the parts need from outside the workspace; one range per dependency. */
function externalDependencies(all: readonly Part[]): Map<string, string> {
  const needed = new Map<string, string>();
  for (const { manifest } of all) {
    for (const [name, range] of Object.entries(manifest.dependencies ?? {})) {
      if (name.startsWith(SCOPE)) continue;
      const other = needed.get(name);
      if (other !== undefined && other !== range) {
        throw new Error(`${name} is wanted as both ${other} and ${range}: give every part one range`);
      }
      needed.set(name, range);
    }
  }
  return needed;
}

/** The template's exports, each checked against the part it names, without the source condition. */
function publishedExports(template: Manifest, all: readonly Part[]): Record<string, Conditions | string> {
  const bySpecifier = new Map<string, { part: Part; sub: string }>(
    all.flatMap((part) =>
      Object.keys(part.manifest.exports).map(
        (sub) => [`./${part.short}${sub.slice(1)}`, { part, sub }] as const,
      ),
    ),
  );
  sameKeys(
    "exports",
    Object.keys(template.exports).filter((key) => key !== "./package.json"),
    [...bySpecifier.keys()],
  );
  const exports: Record<string, Conditions | string> = {};
  for (const [key, entry] of Object.entries(template.exports)) {
    const source = bySpecifier.get(key);
    if (source === undefined || typeof entry === "string") {
      exports[key] = entry;
      continue;
    }
    const { "@capbus/source": _source, ...published } = entry;
    for (const condition of ["types", "default"] as const) {
      const expected = `./dist/${source.part.short}/${distFile(source.part, source.sub, condition)}`;
      if (published[condition] !== expected)
        throw new Error(`capbus exports ${key}: ${condition} is not ${expected}`);
      if (!existsSync(join(STAGE, expected)))
        throw new Error(`capbus exports ${key}: ${expected} was not built`);
    }
    exports[key] = published;
  }
  return exports;
}

function writeManifest(all: readonly Part[]): Manifest {
  const template = readManifest(TEMPLATE);
  const needed = externalDependencies(all);
  sameKeys("dependencies", Object.keys(template.dependencies ?? {}), [...needed.keys()]);
  for (const [name, range] of needed) {
    if (template.dependencies?.[name] !== range)
      throw new Error(`capbus wants ${name}@${range} as the parts do`);
  }
  const { private: _private, ...rest } = template;
  const manifest: Manifest = {
    ...rest,
    exports: publishedExports(template, all),
    bin: { capbus: "./bin/capbus.mjs" },
  };
  writeFileSync(join(STAGE, "package.json"), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}

function stageFiles(): void {
  mkdirSync(join(STAGE, "bin"), { recursive: true });
  copyFileSync(join(TEMPLATE, "bin", "capbus.mjs"), join(STAGE, "bin", "capbus.mjs"));
  chmodSync(join(STAGE, "bin", "capbus.mjs"), 0o755);
  copyFileSync(join(TEMPLATE, "README.md"), join(STAGE, "README.md"));
  copyFileSync(join(ROOT, "LICENSE"), join(STAGE, "LICENSE"));
  // The conformance kit reads the spec's vectors; it finds them by walking up from its module.
  cpSync(join(ROOT, "spec", "vectors"), join(STAGE, "spec", "vectors"), { recursive: true });
}

function main(): void {
  const all = parts();
  if (!process.argv.includes("--no-build")) build(all);
  rmSync(STAGE, { recursive: true, force: true });
  mkdirSync(STAGE, { recursive: true });
  stageParts(all);
  stageFiles();
  const manifest = writeManifest(all);
  const tarball = join(OUT, `${manifest.name}-${manifest.version}.tgz`);
  rmSync(tarball, { force: true });
  run("npm", ["pack", "--silent", "--pack-destination", OUT], STAGE);
  if (!existsSync(tarball)) throw new Error(`npm pack did not write ${tarball}`);
  console.log(tarball);
}

main();
