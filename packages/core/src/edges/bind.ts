import * as ort from "onnxruntime-node";
import { InputError } from "../errors/index.ts";
import type { ModelConfig } from "../model/index.ts";
import type { Batch } from "../runtime/batch.ts";
import { type HostTensor, sameShape, shapeString } from "../tensor/index.ts";
import { EDGE_ABLATED, EDGE_MASK } from "./hooks.ts";
import type { EdgeLayout } from "./layout.ts";

/** Run-time values of edge patching. */
export interface EdgeValues {
  /** m [batch, S, D], every entry in [0, 1] (see maskIndex); 1 keeps an edge, 0 ablates it. */
  readonly mask: HostTensor;
  /** z′ [batch, pos, S, d_model]: each source's output under the ablation (see ablatedSources). */
  readonly ablated: HostTensor;
}

const fail = (field: string, expected: string, found: string): never => {
  throw new InputError({ field, expected, found });
};

export const edgeFeeds = (
  c: ModelConfig,
  layout: EdgeLayout,
  batch: Batch,
  v: EdgeValues | undefined,
): Record<string, ort.Tensor> => {
  if (v === undefined) return fail("values.edges", "an edge mask and the ablated source outputs", "nothing");
  const S = layout.sources.length;
  const D = layout.destinations.length;
  const maskShape = [batch.batch, S, D];
  const ablShape = [batch.batch, batch.pos, S, c.dModel];
  if (!sameShape(v.mask.shape, maskShape))
    fail(
      "values.edges.mask",
      `shape ${shapeString(maskShape)} [batch, sources, destinations]`,
      shapeString(v.mask.shape),
    );
  if (!sameShape(v.ablated.shape, ablShape))
    fail(
      "values.edges.ablated",
      `shape ${shapeString(ablShape)} [batch, pos, sources, d_model]`,
      shapeString(v.ablated.shape),
    );
  const m = v.mask.data;
  for (let i = 0; i < m.length; i++) {
    const x = m[i]!;
    if (!(x >= 0 && x <= 1)) {
      const b = Math.floor(i / (S * D));
      const s = Math.floor(i / D) % S;
      const dst = i % D;
      fail(
        `values.edges.mask[${b}][${s}][${dst}] (${layout.sources[s]!.name}->${layout.destinations[dst]!.name})`,
        "a value in [0, 1]",
        String(x),
      );
    }
  }
  const a = v.ablated.data;
  for (let i = 0; i < a.length; i++)
    if (!Number.isFinite(a[i]!)) fail("values.edges.ablated", "finite values", `${a[i]} at flat index ${i}`);
  return {
    [EDGE_MASK]: new ort.Tensor("float32", m, maskShape),
    [EDGE_ABLATED]: new ort.Tensor("float32", a, ablShape),
  };
};
