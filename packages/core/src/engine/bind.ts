import * as ort from "onnxruntime-node";
import { InputError } from "../errors/index.ts";
import type { ModelConfig } from "../model/index.ts";
import { siteShape } from "../model/sites.ts";
import type { Batch } from "../runtime/batch.ts";
import { type HostTensor, sameShape, shapeString } from "../tensor/index.ts";
import { type CompiledIntervention, inputName } from "./compile.ts";
import { metricReads } from "./metric.ts";
import type { MetricKind, Positions } from "./spec.ts";

/** Run-time values of one intervention (which ones apply depends on its kind). */
export interface InterventionValues {
  /** replace: the site's shape [batch, pos, …]; add: [last axis] ("vector") or the site's shape ("full"). */
  readonly value?: HostTensor;
  /** scale: the factor s (0 = zero ablation). */
  readonly factor?: number;
  /** subspace: R [k, D], the mask m [k] (default all ones) and the source values (site shape). */
  readonly rotation?: HostTensor;
  readonly mask?: Float32Array;
  readonly source?: HostTensor;
  /** project-out: Q [D, k]. */
  readonly basis?: HostTensor;
}

/** Run-time values of the metric: per example, its positions and answer (and wrong) ids. */
export interface MetricBinding {
  readonly positions: readonly (readonly number[])[];
  readonly answers: readonly (readonly number[])[];
  readonly wrong?: readonly (readonly number[])[];
  /** kl: reference logits [batch, n, d_vocab] at the same slots. */
  readonly reference?: HostTensor;
}

const fail = (field: string, expected: string, found: string): never => {
  throw new InputError({ field, expected, found });
};

const f32 = (data: Float32Array, dims: readonly number[]) => new ort.Tensor("float32", data, [...dims]);

const expectShape = (field: string, t: HostTensor | undefined, shape: readonly number[]): HostTensor => {
  if (t === undefined) return fail(field, `a tensor of shape ${shapeString(shape)}`, "nothing");
  if (!sameShape(t.shape, shape)) return fail(field, `shape ${shapeString(shape)}`, shapeString(t.shape));
  return t;
};

/** Per-example position lists for a batch: "all" → every real position. */
export const perExample = (p: Positions | undefined, batch: Batch, field: string): number[][] => {
  if (p === undefined || p === "all") return batch.lengths.map((n) => Array.from({ length: n }, (_, i) => i));
  const lists =
    p.length > 0 && Array.isArray(p[0])
      ? (p as readonly (readonly number[])[])
      : batch.lengths.map(() => p as readonly number[]);
  if (lists.length !== batch.batch)
    fail(field, `one position list per example (${batch.batch})`, `${lists.length} lists`);
  return lists.map((ps, b) =>
    ps.map((q, j) => {
      if (!Number.isInteger(q) || q < 0 || q >= batch.lengths[b]!) {
        fail(
          `${field}[${b}][${j}]`,
          `a position in [0, ${batch.lengths[b]}) (example ${b} has ${batch.lengths[b]} tokens)`,
          String(q),
        );
      }
      return q;
    }),
  );
};

const indexMask = (idx: readonly number[], size: number, field: string, what: string): Float32Array => {
  const m = new Float32Array(size);
  idx.forEach((h, j) => {
    if (!Number.isInteger(h) || h < 0 || h >= size)
      fail(`${field}[${j}]`, `a ${what} in [0, ${size})`, String(h));
    m[h] = 1;
  });
  return m;
};

/** RRᵀ = I_k to 1e-4: the rows of R are orthonormal. */
const checkOrthonormalRows = (R: HostTensor, field: string): void => {
  const [k, D] = R.shape as [number, number];
  let worst = 0;
  for (let i = 0; i < k; i++)
    for (let j = 0; j < k; j++) {
      let s = 0;
      for (let d = 0; d < D; d++) s += R.data[i * D + d]! * R.data[j * D + d]!;
      worst = Math.max(worst, Math.abs(s - (i === j ? 1 : 0)));
    }
  if (!(worst <= 1e-4))
    fail(field, "orthonormal rows (R·Rᵀ = I within 1e-4)", `max |R·Rᵀ − I| = ${worst.toExponential(2)}`);
};

/** Graph inputs for the interventions of a plan, validated against the batch and the model. */
export const interventionFeeds = (
  c: ModelConfig,
  batch: Batch,
  compiled: readonly CompiledIntervention[],
  values: readonly (InterventionValues | undefined)[],
): Record<string, ort.Tensor> => {
  const feeds: Record<string, ort.Tensor> = {};
  for (const ci of compiled) {
    const i = ci.index;
    const iv = ci.intervention;
    const field = `interventions[${i}]`;
    const shape = siteShape(ci.site, c, batch.batch, batch.pos);
    const D = shape[shape.length - 1]!;
    const t = iv.target;
    if (t.positions !== undefined && t.positions !== "all") {
      if (ci.posAxis === null)
        fail(
          `${field}.target.positions`,
          `a site with a pos axis`,
          `${ci.site.name} [${ci.site.dims.join(", ")}]`,
        );
      const lists = perExample(t.positions, batch, `${field}.target.positions`);
      const m = new Float32Array(batch.batch * batch.pos);
      lists.forEach((ps, b) => {
        for (const p of ps) m[b * batch.pos + p] = 1;
      });
      feeds[inputName(i, "pos")] = f32(m, [batch.batch, batch.pos]);
    }
    if (t.heads !== undefined) {
      if (ci.headAxis === null)
        fail(
          `${field}.target.heads`,
          "a site with a head axis",
          `${ci.site.name} [${ci.site.dims.join(", ")}]`,
        );
      const H = shape[ci.headAxis!]!;
      feeds[inputName(i, "head")] = f32(indexMask(t.heads, H, `${field}.target.heads`, "head"), [H]);
    }
    if (t.dims !== undefined)
      feeds[inputName(i, "dim")] = f32(
        indexMask(t.dims, D, `${field}.target.dims`, "index of the last axis"),
        [D],
      );
    const v = values[i] ?? {};
    switch (iv._tag) {
      case "replace": {
        const P = expectShape(`${field}.value`, v.value, shape);
        feeds[inputName(i, "value")] = f32(P.data, shape);
        break;
      }
      case "add": {
        const want = iv.shape === "vector" ? [D] : shape;
        feeds[inputName(i, "value")] = f32(expectShape(`${field}.value`, v.value, want).data, want);
        break;
      }
      case "scale": {
        if (v.factor === undefined || !Number.isFinite(v.factor))
          fail(`${field}.factor`, "a finite number", String(v.factor));
        feeds[inputName(i, "factor")] = f32(Float32Array.of(v.factor!), []);
        break;
      }
      case "subspace": {
        const R = expectShape(`${field}.rotation`, v.rotation, [iv.rank, D]);
        if (iv.orthogonal) checkOrthonormalRows(R, `${field}.rotation`);
        const m = v.mask ?? new Float32Array(iv.rank).fill(1);
        if (m.length !== iv.rank) fail(`${field}.mask`, `${iv.rank} values`, `${m.length}`);
        feeds[inputName(i, "rotation")] = f32(R.data, [iv.rank, D]);
        feeds[inputName(i, "mask")] = f32(m, [iv.rank]);
        feeds[inputName(i, "source")] = f32(expectShape(`${field}.source`, v.source, shape).data, shape);
        break;
      }
      case "project-out": {
        const Q = expectShape(`${field}.basis`, v.basis, [D, iv.rank]);
        checkOrthonormalRows({ data: transpose2(Q), shape: [iv.rank, D] }, `${field}.basis (columns)`);
        feeds[inputName(i, "basis")] = f32(Q.data, [D, iv.rank]);
        break;
      }
    }
  }
  return feeds;
};

const transpose2 = (t: HostTensor): Float32Array => {
  const [r, c] = t.shape as [number, number];
  const out = new Float32Array(r * c);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) out[j * r + i] = t.data[i * c + j]!;
  return out;
};

/**
 * Graph inputs of a metric: one-hot position selections, slot weights, one-hot ids. With
 * `slotMultiple` the slots n are padded (weight 0, position 0) to a multiple of it, so every
 * example's [n, V] block starts at the same alignment in memory whatever its row in the batch:
 * some CPU kernels (Eigen's vectorised sums) peel an unaligned head first, and V is often odd.
 */
export const metricFeeds = (
  c: ModelConfig,
  batch: Batch,
  kind: MetricKind,
  m: MetricBinding,
  slotMultiple = 1,
): Record<string, ort.Tensor> => {
  const B = batch.batch;
  const P = batch.pos;
  const V = c.vocabSize;
  const pos = perExample(m.positions, batch, "metric.positions");
  const used = Math.max(1, ...pos.map((p) => p.length));
  const n = Math.ceil(used / slotMultiple) * slotMultiple;
  pos.forEach((p, b) => {
    if (p.length === 0) fail(`metric.positions[${b}]`, "at least one position", "none");
  });
  const select = new Float32Array(B * n * P);
  const weight = new Float32Array(B * n);
  pos.forEach((ps, b) => {
    ps.forEach((p, j) => {
      select[(b * n + j) * P + p] = 1;
      weight[b * n + j] = 1;
    });
  });
  const oneHot = (ids: readonly (readonly number[])[] | undefined, name: string): Float32Array => {
    if (ids === undefined) return fail(`metric.${name}`, `ids for ${kind}`, "nothing");
    if (ids.length !== B) fail(`metric.${name}`, `one list per example (${B})`, `${ids.length}`);
    const out = new Float32Array(B * n * V);
    ids.forEach((row, b) => {
      if (row.length !== pos[b]!.length)
        fail(`metric.${name}[${b}]`, `one id per metric position (${pos[b]!.length})`, `${row.length}`);
      row.forEach((id, j) => {
        if (!Number.isInteger(id) || id < 0 || id >= V)
          fail(`metric.${name}[${b}][${j}]`, `a token id in [0, ${V})`, String(id));
        out[(b * n + j) * V + id] = 1;
      });
    });
    return out;
  };
  const feeds: Record<string, ort.Tensor> = {
    "metric.select": f32(select, [B, n, P]),
    "metric.weight": f32(weight, [B, n]),
  };
  const reads = metricReads(kind);
  if (reads.reference) {
    const ref = expectShape("metric.reference", m.reference, [B, used, V]).data;
    const padded = n === used ? ref : new Float32Array(B * n * V);
    if (padded !== ref)
      for (let b = 0; b < B; b++) padded.set(ref.subarray(b * used * V, (b + 1) * used * V), b * n * V);
    feeds["metric.reference"] = f32(padded, [B, n, V]);
  }
  if (reads.answers) feeds["metric.answer"] = f32(oneHot(m.answers, "answers"), [B, n, V]);
  if (reads.wrong) feeds["metric.wrong"] = f32(oneHot(m.wrong, "wrong"), [B, n, V]);
  return feeds;
};
