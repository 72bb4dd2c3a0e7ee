import { realpathSync } from "node:fs";
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { Effect } from "effect";
import type { LoadedExperiment } from "../spec/load.ts";
import { ExperimentFileError } from "../spec/schema.ts";

/**
 * The results store as named: `override` (the command line's --results) or the file's outputs.results.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mkdtempSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { Effect } from "effect";
 * import { decodeExperiment, resultsDirOf } from "@patchbay/experiments";
 * const dir = mkdtempSync(join(tmpdir(), "exp-"));
 * // a readout experiment built in code: direct logit attribution on the compiled induction model
 * const raw = { name: "doc", kind: "readout", model: "builtin:induction", data: { task: { n: 4 } }, method: { _tag: "dla" } };
 * const loaded = await Effect.runPromise(decodeExperiment(raw, join(dir, "doc.yaml")));
 * assert.equal(resultsDirOf(loaded, "/elsewhere"), "/elsewhere");
 * assert.equal(resultsDirOf(loaded), join(dir, "results")); // the default, beside the file
 * ```
 */
export const resultsDirOf = (loaded: LoadedExperiment, override?: string): string =>
  override !== undefined ? resolve(override) : resolve(loaded.baseDir, loaded.experiment.outputs.results);

const inside = (child: string, parent: string): boolean => {
  const rel = relative(parent, child);
  return rel === "" || (!isAbsolute(rel) && rel !== ".." && !rel.startsWith(`..${sep}`));
};

/** The path with its existing part's symbolic links resolved (the rest does not exist yet). */
const realish = (path: string): string => {
  let head = path;
  const tail: string[] = [];
  for (;;) {
    try {
      return join(realpathSync(head), ...tail.reverse());
    } catch {
      const up = dirname(head);
      if (up === head) return path;
      tail.push(basename(head));
      head = up;
    }
  }
};

/**
 * Where a run writes. The command line is trusted: `--results DIR` may point anywhere. A path from
 * the experiment FILE (outputs.results) is not — a shared file must not make `run` write into
 * `~/.ssh` — so it must lie inside the experiment file's folder or the current directory, both as
 * written and with symbolic links resolved; otherwise an ExperimentFileError naming
 * outputs.results asks for `--results DIR`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mkdtempSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { Effect } from "effect";
 * import { decodeExperiment, resolveResultsDir } from "@patchbay/experiments";
 * const dir = mkdtempSync(join(tmpdir(), "exp-"));
 * // a readout experiment built in code: direct logit attribution on the compiled induction model
 * const raw = { name: "doc", kind: "readout", model: "builtin:induction", data: { task: { n: 4 } }, method: { _tag: "dla" } };
 * const loaded = await Effect.runPromise(decodeExperiment(raw, join(dir, "doc.yaml")));
 * assert.equal(await Effect.runPromise(resolveResultsDir(loaded, "/elsewhere")), "/elsewhere"); // the command line is trusted
 * const escaping = await Effect.runPromise(decodeExperiment({ ...raw, outputs: { results: "/etc" } }, join(dir, "doc.yaml")));
 * assert.equal((await Effect.runPromiseExit(resolveResultsDir(escaping)))._tag, "Failure"); // the file is not
 * ```
 */
export const resolveResultsDir = (
  loaded: LoadedExperiment,
  override?: string,
): Effect.Effect<string, ExperimentFileError> =>
  Effect.suspend(() => {
    const dir = resultsDirOf(loaded, override);
    if (override !== undefined) return Effect.succeed(dir);
    const written = loaded.experiment.outputs.results;
    const fail = (found: string) =>
      Effect.fail(
        new ExperimentFileError({
          file: loaded.file,
          field: "outputs.results",
          expected:
            "a folder inside the experiment file's folder or the current directory (to write anywhere else, pass --results DIR on the command line)",
          found,
        }),
      );
    if (written.includes("\0")) return fail(`${JSON.stringify(written)} (a NUL byte)`);
    const roots = [resolve(loaded.baseDir), resolve(process.cwd())];
    if (!roots.some((r) => inside(dir, r))) return fail(`${JSON.stringify(written)} → ${dir}`);
    const real = realish(dir);
    if (!roots.map(realish).some((r) => inside(real, r)))
      return fail(`${JSON.stringify(written)} → ${real} (through a symbolic link)`);
    return Effect.succeed(dir);
  });
