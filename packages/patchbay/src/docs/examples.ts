import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { type Example, jsdocExamples, markdownExamples } from "./extract.ts";

/** Folders whose TypeScript sources hold JSDoc examples: every package's src and experiments/src. */
const sourceRoots = (repo: string): string[] => [
  ...readdirSync(join(repo, "packages"), { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => join(repo, "packages", d.name, "src")),
  join(repo, "experiments", "src"),
];

/** Source files, not tests or test helpers. */
const isSource = (name: string): boolean =>
  name.endsWith(".ts") &&
  !name.endsWith(".test.ts") &&
  !name.endsWith(".d.ts") &&
  !name.includes("test-support");

const walk = (dir: string): string[] => {
  let entries: import("node:fs").Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries.flatMap((e) =>
    e.isDirectory() && e.name !== "node_modules"
      ? walk(join(dir, e.name))
      : e.isFile() && isSource(e.name)
        ? [join(dir, e.name)]
        : [],
  );
};

/**
 * Every documented example of the repository: README.md's ```ts blocks and the JSDoc `@example`
 * blocks of the sources, each with its file (relative to the repository) and line.
 */
export const repoExamples = (repo: string): Example[] => [
  ...markdownExamples("README.md", readFileSync(join(repo, "README.md"), "utf8")),
  ...sourceRoots(repo)
    .flatMap(walk)
    .sort()
    .flatMap((f) => jsdocExamples(relative(repo, f), readFileSync(f, "utf8"))),
];
