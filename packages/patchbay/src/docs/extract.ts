/**
 * The code examples of the documentation, as data: every fenced ```ts block of a Markdown file,
 * and every ```ts block inside a JSDoc `@example` of a TypeScript file. A block whose info string
 * is `ts no-run` is kept (and counted) but not run.
 */
export interface Example {
  /** The file, as given. */
  readonly file: string;
  /** 1-based line of the opening fence. */
  readonly line: number;
  readonly code: string;
  /** Marked ```ts no-run: shown to readers, not executed. */
  readonly noRun: boolean;
}

const FENCE = /^(\s*)```(\S*)(.*)$/;

/**
 * Fenced blocks of `lines` whose language is ts / typescript (other languages are skipped);
 * `lineOf` maps an index of `lines` to its line in the file.
 */
const fenced = (file: string, lines: readonly string[], lineOf: (i: number) => number): Example[] => {
  const out: Example[] = [];
  let open: { line: number; indent: number; ts: boolean; noRun: boolean; code: string[] } | null = null;
  for (const [i, text] of lines.entries()) {
    const m = FENCE.exec(text);
    if (open === null) {
      if (m === null) continue;
      const lang = m[2]!;
      open = {
        line: lineOf(i),
        indent: m[1]!.length,
        ts: lang === "ts" || lang === "typescript",
        noRun: m[3]!.trim().split(/\s+/).includes("no-run"),
        code: [],
      };
    } else if (m !== null && m[2] === "" && m[3]!.trim() === "") {
      if (open.ts) out.push({ file, line: open.line, code: open.code.join("\n"), noRun: open.noRun });
      open = null;
    } else {
      const indent = text.length - text.trimStart().length;
      open.code.push(text.slice(Math.min(open.indent, indent)));
    }
  }
  if (open?.ts === true) throw new Error(`${file}:${open.line}: a \`\`\`ts block that is never closed`);
  return out;
};

/** Every ```ts block of a Markdown text. */
export const markdownExamples = (file: string, text: string): Example[] =>
  fenced(file, text.split("\n"), (i) => i + 1);

/** A JSDoc line without its comment markers (`/**`, leading `*`, `*\/`). */
const commentText = (line: string): string =>
  line
    .replace(/^\s*\/\*\*\s?/, "")
    .replace(/\s*\*\/\s*$/, "")
    .replace(/^\s*\* ?/, "");

/**
 * Every ```ts block inside an `@example` section of a JSDoc comment (`/** … *\/`; a section runs to
 * the next tag outside a fence). Blocks elsewhere in a comment are prose, not examples.
 */
export const jsdocExamples = (file: string, text: string): Example[] => {
  const lines = text.split("\n");
  const out: Example[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (!/^\s*\/\*\*/.test(lines[i]!)) continue;
    const start = i;
    while (i < lines.length - 1 && !lines[i]!.includes("*/")) i++;
    const body = lines.slice(start, i + 1).map(commentText);
    // blank out every line that is not in an @example section, so only its fences remain
    let inExample = false;
    let inFence = false;
    const kept = body.map((l) => {
      const t = l.trim();
      if (t.startsWith("```")) inFence = !inFence;
      else if (!inFence && /^@\w/.test(t)) {
        inExample = /^@example\b/.test(t);
        return "";
      }
      return inExample ? l : "";
    });
    out.push(...fenced(file, kept, (j) => start + j + 1));
  }
  return out;
};

/** Module specifiers an example imports (static imports, re-exports and dynamic `import("…")`). */
export const importsOf = (code: string): string[] => {
  const specs = new Set<string>();
  for (const m of code.matchAll(/(?:^|[\s;])(?:import|export)\s[^"';]*?\bfrom\s*["']([^"']+)["']/g))
    specs.add(m[1]!);
  for (const m of code.matchAll(/(?:^|[\s;])import\s*["']([^"']+)["']/g)) specs.add(m[1]!);
  for (const m of code.matchAll(/\bimport\(\s*["']([^"']+)["']\s*\)/g)) specs.add(m[1]!);
  return [...specs];
};

/**
 * What an example may import: the published entry points ("patchbay", "@patchbay/<pkg>" and its
 * subpaths), `effect` (the Effect API's own dependency, which its users import) and `node:`
 * builtins. Anything else — a relative path, a file inside a package — is what a user cannot write.
 */
export const allowedImport = (spec: string): boolean =>
  spec === "patchbay" ||
  spec === "effect" ||
  spec.startsWith("node:") ||
  /^@patchbay\/[a-z][a-z0-9-]*(\/[a-z][a-z0-9-]*)*$/.test(spec);

/**
 * The names an example imports by name from each module (`import { a, b as c } from "m"`,
 * type-only names left out): checked against the module's exports, since an in-process import
 * turns a missing export into `undefined` rather than a SyntaxError.
 */
export const namedImportsOf = (code: string): { spec: string; names: string[] }[] =>
  [...code.matchAll(/(?:^|[\s;])import\s+(type\s+)?(?:[\w$]+\s*,\s*)?\{([^}]*)\}\s*from\s*["']([^"']+)["']/g)]
    .filter((m) => m[1] === undefined)
    .map((m) => ({
      spec: m[3]!,
      names: m[2]!
        .split(",")
        .map((s) => s.trim())
        .filter((s) => s !== "" && !s.startsWith("type "))
        .map((s) => s.split(/\s+as\s+/)[0]!.trim()),
    }));
