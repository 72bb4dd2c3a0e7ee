import { isAbsolute, resolve } from "node:path";
import { isSourcePath } from "@patchbay/core/weights";
import { stringify } from "yaml";
import type { SetupSpec } from "../kinds/circuit/cell.ts";

/**
 * The explorer's circuit as an experiment file that reproduces it: the cell's model, task,
 * ablation, metric, granularity and method, with `selection: { _tag: edges, edges: [...] }` (the
 * circuit exactly as explored, not pruned), so `patchbay run` on it evaluates the same circuit and
 * reports the faithfulness the explorer showed. Relative model and task paths are written
 * absolute (the file may be saved anywhere). ACDC decides its own circuit and takes no selection,
 * so an ACDC cell's snippet scores with EAP instead (the scores do not choose the circuit here).
 */
export const experimentSnippet = (
  cellId: string,
  /** the stored spec: its setup fields decoded (liveSource); method and truth copied as written, `patchbay run` checks them */
  spec: SetupSpec & { readonly method?: unknown; readonly evaluation?: { readonly truth?: unknown } },
  baseDir: string,
  edges: readonly string[],
): string => {
  const path = (p: string) => (isSourcePath(p) || isAbsolute(p) ? p : resolve(baseDir, p));
  const task =
    spec.task.kind === "file"
      ? { file: path(spec.task.file) }
      : { builtin: spec.task.builtin, n: spec.task.n, seed: spec.task.seed, options: spec.task.options };
  const acdc = (spec.method as { _tag?: unknown } | undefined)?._tag === "acdc";
  const doc = {
    name: `explored-${cellId.slice(0, 12)}`,
    model: path(spec.model),
    task,
    ablation: spec.ablation,
    metric: spec.metric,
    granularity: spec.granularity,
    method: acdc || spec.method === undefined ? { _tag: "eap" } : spec.method,
    selection: { _tag: "edges", edges: [...edges] },
    evaluation: { curve: false, spearmanSample: 0, truth: spec.evaluation?.truth ?? true },
    runtime: spec.runtime,
  };
  const header = [
    `# A circuit explored in patchbay serve from cell ${cellId} (${edges.length} edges).`,
    "# `patchbay run` on this file evaluates exactly these edges (selection by name, not pruned).",
    ...(acdc ? ["# The cell ran ACDC, which takes no selection: EAP scores the edges here."] : []),
  ];
  return `${header.join("\n")}\n${stringify(doc, { lineWidth: 0 })}`;
};
