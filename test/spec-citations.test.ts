/**
 * Code cites the spec in one format, `spec/<file>.md §N`, and every citation names a heading of
 * that file (issue 20). Scans packages/<pkg>/src, test and scripts; a citation by section name,
 * without the `spec/` prefix, or a bare `§N` fails, as does a number that no heading has.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));

/** Section numbers of each spec file's headings (`## 3. The round`, `### 3.1 Staging`). */
function specHeadings(): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const name of readdirSync(join(root, "spec")).filter((n) => n.endsWith(".md"))) {
    const numbers = new Set<string>();
    for (const line of readFileSync(join(root, "spec", name), "utf8").split("\n")) {
      const m = /^#{2,5} (\d+(?:\.\d+)*)\.? /.exec(line);
      if (m) numbers.add(m[1] as string);
    }
    out.set(name.slice(0, -3), numbers);
  }
  return out;
}

/** What is wrong with the citations in `text`, one line each (`line: problem`). */
export function citationProblems(text: string, headings: Map<string, Set<string>>): string[] {
  const problems: string[] = [];
  const stems = [...headings.keys()].join("|");
  for (const [i, line] of text.split("\n").entries()) {
    const at = `${i + 1}`;
    for (const m of line.matchAll(/spec\/([a-z-]+)\.md §(\d+(?:\.\d+)*)/g)) {
      if (!headings.get(m[1] as string)?.has(m[2] as string))
        problems.push(`${at}: ${m[0]} names no heading`);
    }
    for (const m of line.matchAll(/spec\/[a-z-]+\.md (§[^\d\s]\S*|"[^"]*")/g))
      problems.push(`${at}: ${m[0]}: cite by number (spec/<file>.md §N)`);
    for (const m of line.matchAll(new RegExp(`(?:^|[^/\\w.-])((?:${stems})\\.md §\\S+)`, "g")))
      problems.push(`${at}: ${m[1]}: write spec/${m[1]}`);
    for (const m of line.matchAll(/(?:^|[^\w.]|(?<!\.md) )((?:spec )?§\d[\d.]*)/g)) {
      const before = line.slice(0, (m.index ?? 0) + m[0].length - (m[1] as string).length);
      if (!before.endsWith(".md ")) problems.push(`${at}: ${m[1]}: name the file (spec/<file>.md §N)`);
    }
  }
  return problems;
}

function sources(dir: string): string[] {
  let out: string[] = [];
  for (const name of readdirSync(dir)) {
    if (name === "node_modules" || name === "dist") continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out = out.concat(sources(path));
    else if (/\.(ts|mts|mjs|js)$/.test(name)) out.push(path);
  }
  return out;
}

test("every spec citation in code is `spec/<file>.md §N` and names a heading of that file", () => {
  const headings = specHeadings();
  const packages = readdirSync(join(root, "packages")).map((p) => join(root, "packages", p, "src"));
  const files = [
    ...packages.filter((d) => statSync(d, { throwIfNoEntry: false })?.isDirectory()),
    "test",
    "scripts",
  ]
    .flatMap((d) => sources(d.startsWith("/") ? d : join(root, d)))
    .filter((f) => !f.endsWith("spec-citations.test.ts"));
  const problems = files.flatMap((f) =>
    citationProblems(readFileSync(f, "utf8"), headings).map((p) => `${relative(root, f)}:${p}`),
  );
  assert.deepEqual(problems, [], "rewrite them with /work/cite-rewrite.mjs, or fix them by hand");
});

test("the citation check refuses what it should", () => {
  const headings = new Map([["ordering", new Set(["3", "3.1"])]]);
  const md = ".md";
  assert.deepEqual(citationProblems(`(spec/ordering${md} §3.1, spec/ordering${md} §3)`, headings), []);
  for (const bad of [
    `spec/ordering${md} §4`,
    `spec/ordering${md} §3.2`,
    `spec/nothing${md} §1`,
    `spec/ordering${md} §Sending`,
    `spec/ordering${md} "The round"`,
    `(ordering${md} §3)`,
    "(§3)",
    "(spec §3)",
    `spec/ordering${md} §3, §3.1`,
  ]) {
    assert.notDeepEqual(citationProblems(bad, headings), [], bad);
  }
});
