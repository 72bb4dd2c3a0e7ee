import { readFileSync, statSync } from "node:fs";
import { extname } from "node:path";
import {
  decodeUtf8Strict,
  describeInvalidUtf8,
  FORBIDDEN_KEYS_EXPECTED,
  isForbiddenKey,
} from "@patchbay/core/text";
import { Effect, Either, ParseResult, Schema, SchemaAST as AST } from "effect";
import YAML from "yaml";
import { oneOf } from "@patchbay/core/cli/table";
import { atMost, DEFAULT_LIMITS, type Limits } from "./limits.ts";
import { ExperimentFileError } from "./schema.ts";

/**
 * From a file's bytes to a parsed document: the file is read only when it is a regular file within
 * the size limit, decoded as strict UTF-8 (a BOM is stripped), parsed as YAML 1.2 core schema or
 * strict JSON; and decoding failures become one ExperimentFileError naming the most specific field.
 */

export const show = (v: unknown): string => {
  if (v === undefined) return "nothing";
  const s = JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 120 ? `${s.slice(0, 117)}...` : s;
};

const pathString = (path: readonly PropertyKey[]): string =>
  path.reduce<string>(
    (acc, k) => (typeof k === "number" ? `${acc}[${k}]` : acc === "" ? String(k) : `${acc}.${String(k)}`),
    "",
  );

const at = (raw: unknown, path: readonly PropertyKey[]): unknown => {
  let v = raw;
  for (const k of path) {
    if (typeof v !== "object" || v === null) return undefined;
    v = (v as Record<PropertyKey, unknown>)[k];
  }
  return v;
};

type Issue = ParseResult.ParseIssue;
const members = (i: ParseResult.Composite): readonly Issue[] =>
  Array.isArray(i.issues) ? i.issues : [i.issues as Issue];

/** How far into the document an issue points (path segments), and whether it is only "expected undefined". */
const depth = (i: Issue): number => {
  switch (i._tag) {
    case "Pointer":
      return (Array.isArray(i.path) ? i.path.length : 1) + depth(i.issue);
    case "Refinement":
    case "Transformation":
      return depth(i.issue);
    case "Composite":
      return Math.max(0, ...members(i).map(depth));
    default:
      return 0;
  }
};
const onlyUndefined = (i: Issue): boolean => i._tag === "Type" && AST.isUndefinedKeyword(i.ast);

/** The values of a union of literals (`Schema.Literal("a", "b")`, a tagged union's `_tag`), else null. */
const literalValues = (ast: AST.AST): string[] | null =>
  AST.isUnion(ast) && ast.types.every(AST.isLiteral)
    ? ast.types.map((t) => String((t as AST.Literal).literal))
    : null;

/** A value outside a list of literals, as one issue listing every allowed value (not the first). */
const notOneOfIssue = (ast: AST.AST, actual: unknown, values: readonly string[]): Issue =>
  new ParseResult.Type(ast, actual, `Expected one of ${oneOf(values)}, actual ${show(actual)}`);

/**
 * The issue tree with every union failure reduced to its most specific member's complaint (the
 * deepest; an optional field's "expected undefined" never wins). A union's members all complain
 * when none matches; only one of them is the mistake the user made. A value outside a union of
 * literals is the exception: its complaint lists them all (`expected one of resample, zero, …`).
 */
const pruneUnions = (i: Issue): Issue => {
  switch (i._tag) {
    case "Pointer":
      return new ParseResult.Pointer(i.path, i.actual, pruneUnions(i.issue));
    case "Refinement":
      return new ParseResult.Refinement(i.ast, i.actual, i.kind, pruneUnions(i.issue));
    case "Transformation":
      return new ParseResult.Transformation(i.ast, i.actual, i.kind, pruneUnions(i.issue));
    case "Type": {
      const values = literalValues(i.ast);
      return values === null ? i : notOneOfIssue(i.ast, i.actual, values);
    }
    case "Composite": {
      const values = literalValues(i.ast);
      if (values !== null) return notOneOfIssue(i.ast, i.actual, values);
      const kids = members(i).map(pruneUnions);
      if (AST.isUnion(i.ast)) {
        const score = (k: Issue) => (onlyUndefined(k) ? -1 : depth(k));
        return kids.reduce((best, k) => (score(k) > score(best) ? k : best));
      }
      const [first, ...rest] = kids;
      return new ParseResult.Composite(
        i.ast,
        i.actual,
        rest.length === 0 ? first! : [first!, ...rest],
        i.output,
      );
    }
    default:
      return i;
  }
};

/** Every issue reported, and a key the schema does not know is an error (a typo is never ignored). */
export const DECODE_OPTIONS = { errors: "all", onExcessProperty: "error" } as const;

/** A document (a whole file or one cell of it) decoded against `schema`; failures name the field. */
export const decodeDocument = <A, I>(
  schema: Schema.Schema<A, I>,
  file: string,
  doc: unknown,
  prefix = "",
): Effect.Effect<A, ExperimentFileError> =>
  Effect.mapError(Schema.decodeUnknown(schema)(doc, DECODE_OPTIONS), (e) =>
    fromParseError(file, e, doc, prefix),
  );

/** The most specific issue of a ParseError as {field, expected, found}, with the field path prefixed. */
export const fromParseError = (
  file: string,
  e: ParseResult.ParseError,
  raw: unknown,
  prefix = "",
): ExperimentFileError => {
  const issues = ParseResult.ArrayFormatter.formatIssueSync(pruneUnions(e.issue));
  // the deepest issue names the most precise field
  const issue = [...issues].sort((a, b) => b.path.length - a.path.length)[0]!;
  const field = pathString(issue.path) || "(document)";
  const m = /^Expected (.*), actual (.*)$/s.exec(issue.message);
  const expected =
    issue._tag === "Missing"
      ? "a value (required)"
      : issue._tag === "Unexpected"
        ? "no such field (unknown fields are errors)"
        : m !== null
          ? m[1]!
          : issue.message;
  const others =
    issues.length > 1 ? ` (and ${issues.length - 1} more issue${issues.length > 2 ? "s" : ""})` : "";
  return new ExperimentFileError({
    file,
    field: prefix === "" ? field : `${field} (${prefix})`,
    expected,
    found: `${show(at(raw, issue.path))}${others}`,
  });
};

/**
 * The tags a YAML experiment file may use: YAML 1.2's core schema. Anything else (`!!js/function`,
 * `!!python/object`, `!!binary`, `!custom`, …) is an error, not a string: a file written for a
 * loader that runs tags as code must not half-work here.
 */
const CORE_TAGS = new Set(
  ["str", "int", "float", "bool", "null", "map", "seq"].map((t) => `tag:yaml.org,2002:${t}`),
);

/** At most this many alias expansions per file (a "billion laughs" file is an error, not a hang). */
const MAX_ALIASES = 1000;

const yamlWhere = (file: string, lineCounter: YAML.LineCounter, offset: number | undefined): string => {
  if (offset === undefined) return file;
  const { line, col } = lineCounter.linePos(offset);
  return `${file}:${line}:${col}`;
};

/** Parse YAML text: syntax errors, unknown tags, forbidden keys and alias bombs are typed errors. */
const parseYaml = (text: string, file: string): unknown => {
  const lineCounter = new YAML.LineCounter();
  const d = YAML.parseDocument(text, { prettyErrors: true, uniqueKeys: true, lineCounter });
  const first = d.errors[0] ?? d.warnings[0];
  if (first !== undefined) {
    const line = first.linePos?.[0];
    throw new ExperimentFileError({
      file: line === undefined ? file : `${file}:${line.line}:${line.col}`,
      field: "(document)",
      expected: first.code === "TAG_RESOLVE_FAILED" ? "a YAML 1.2 core tag (or none)" : "valid YAML",
      found: first.message.split("\n")[0]!,
    });
  }
  let bad: ExperimentFileError | null = null;
  YAML.visit(d, {
    Node: (_, node) => {
      if (node.tag !== undefined && !CORE_TAGS.has(node.tag)) {
        bad = new ExperimentFileError({
          file: yamlWhere(file, lineCounter, node.range?.[0]),
          field: "(document)",
          expected: "a YAML 1.2 core tag (!!str, !!int, !!float, !!bool, !!null, !!map, !!seq) or none",
          found: `the tag ${node.tag}`,
        });
        return YAML.visit.BREAK;
      }
      return undefined;
    },
    Pair: (_, pair) => {
      const key = YAML.isScalar(pair.key) ? pair.key.value : pair.key;
      if (typeof key === "string" && isForbiddenKey(key)) {
        bad = new ExperimentFileError({
          file: yamlWhere(file, lineCounter, YAML.isNode(pair.key) ? pair.key.range?.[0] : undefined),
          field: key,
          expected: FORBIDDEN_KEYS_EXPECTED,
          found: JSON.stringify(key),
        });
        return YAML.visit.BREAK;
      }
      return undefined;
    },
  });
  if (bad !== null) throw bad;
  return d.toJS({ maxAliasCount: MAX_ALIASES });
};

/**
 * Parse YAML or JSON text (JSON is YAML; `.json` files are read as strict JSON).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Effect } from "effect";
 * import { parseExperimentText } from "@patchbay/experiments";
 * const doc = await Effect.runPromise(parseExperimentText("name: demo\nmodel: builtin:induction\n", "demo.yaml"));
 * assert.deepEqual(doc, { name: "demo", model: "builtin:induction" });
 * assert.equal((await Effect.runPromiseExit(parseExperimentText("{ not json", "x.json")))._tag, "Failure");
 * ```
 */
export const parseExperimentText = (
  text: string,
  file: string,
): Effect.Effect<Record<string, unknown>, ExperimentFileError> =>
  Effect.suspend(() => {
    let doc: unknown;
    const json = extname(file).toLowerCase() === ".json";
    try {
      doc = json ? JSON.parse(text) : parseYaml(text, file);
    } catch (e) {
      if (e instanceof ExperimentFileError) return Effect.fail(e);
      return Effect.fail(
        new ExperimentFileError({
          file,
          field: "(document)",
          expected: json ? "valid JSON" : "valid YAML",
          found: (e as Error).message,
        }),
      );
    }
    if (typeof doc !== "object" || doc === null || Array.isArray(doc))
      return Effect.fail(
        new ExperimentFileError({
          file,
          field: "(document)",
          expected: "a mapping of fields",
          found: show(doc),
        }),
      );
    return Effect.succeed(doc as Record<string, unknown>);
  });

/**
 * An experiment file's bytes and text: a regular file (not a folder, FIFO or device, which would
 * block or never end) of at most `limits.fileBytes`, strict UTF-8 (the error names line and byte).
 */
export const readExperimentFile = (
  file: string,
  limits: Limits = DEFAULT_LIMITS,
): Effect.Effect<{ readonly bytes: Uint8Array; readonly text: string }, ExperimentFileError> =>
  Effect.suspend(() => {
    const fileError = (expected: string, found: string) =>
      Effect.fail(new ExperimentFileError({ file, field: "(file)", expected, found }));
    const what = "a readable experiment file (YAML or JSON)";
    let bytes: Uint8Array;
    try {
      const st = statSync(file);
      if (!st.isFile())
        return fileError(
          "a regular file (YAML or JSON)",
          st.isDirectory() ? "a folder" : st.isFIFO() ? "a FIFO" : "a device or socket",
        );
      if (st.size > limits.fileBytes)
        return fileError(`a file of ${atMost(limits, "fileBytes", "bytes")}`, `${st.size} bytes`);
      bytes = readFileSync(file);
    } catch (e) {
      return fileError(what, (e as NodeJS.ErrnoException).code ?? String(e));
    }
    const text = decodeUtf8Strict(bytes);
    if (Either.isLeft(text))
      return Effect.fail(
        new ExperimentFileError({
          file: `${file}:${text.left.line}:${text.left.column}`,
          field: "(file)",
          expected: "UTF-8 text",
          found: describeInvalidUtf8(text.left),
        }),
      );
    return Effect.succeed({ bytes, text: text.right });
  });
