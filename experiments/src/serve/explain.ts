import { evaluateMasks, exactScores, faithfulness, maskFromEdges } from "@patchbay/circuits";
import type { InputError, RuntimeError } from "@patchbay/core/errors";
import { Effect } from "effect";
import type { LiveCell } from "./live.ts";

/**
 * Why an edge matters, for the explorer's "explain" panel:
 *   exact     its exact effect on the full model, m(M ∖ {e}) − m(M) as exact patching scores it
 *             (sign: how much worse; circuits' exactScores, downstream-only rows)
 *   examples  per example, the metric of the current circuit with the edge in and with it out,
 *             both in one batched run of the edge-masked graph (which prompts it matters for)
 *   faithfulness of the circuit with and without it.
 */
export interface EdgeExplanation {
  readonly edge: string;
  readonly exact: number;
  readonly withEdge: {
    readonly metric: number;
    readonly faithfulness: number;
    readonly perExample: readonly number[];
  };
  readonly withoutEdge: {
    readonly metric: number;
    readonly faithfulness: number;
    readonly perExample: readonly number[];
  };
}

export const explainEdge = (
  cell: LiveCell,
  inGraph: Uint8Array,
  edge: number,
): Effect.Effect<EdgeExplanation, InputError | RuntimeError> =>
  Effect.gen(function* () {
    const { setup } = cell;
    const on = Uint8Array.from(inGraph);
    on[edge] = 1;
    const off = Uint8Array.from(inGraph);
    off[edge] = 0;
    const r = yield* evaluateMasks(setup, [maskFromEdges(setup, on), maskFromEdges(setup, off)]);
    const exact = yield* exactScores(setup, [edge]);
    const N = setup.N;
    const side = (i: number) => ({
      metric: r.mean[i]!,
      faithfulness: faithfulness(r.mean[i]!, cell.empty, cell.full),
      perExample: Array.from(r.perExample.subarray(i * N, (i + 1) * N)),
    });
    return {
      edge: setup.layout.edges[edge]!.name,
      exact: exact.scores[edge]!,
      withEdge: side(0),
      withoutEdge: side(1),
    };
  });
