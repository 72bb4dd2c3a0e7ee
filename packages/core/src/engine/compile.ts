import type { GraphBuilder, Value } from "../graph/index.ts";
import type { ModelConfig } from "../model/index.ts";
import { type SiteInfo, lookupSite } from "../model/sites.ts";
import type { SiteHooks } from "../transformer/index.ts";
import type { Intervention, Plan, Target } from "./spec.ts";

/**
 * Plan → SiteHooks. Intervention i at a site reads its run-time values from graph inputs named
 * `iv{i}.<param>`; the selection mask M is the product of up to three factors, each an input:
 *   iv{i}.pos   [batch, pos]  1 at the selected positions of each example
 *   iv{i}.head  [H]           1 at the selected heads
 *   iv{i}.dim   [D]           1 at the selected indices of the last axis
 * broadcast to the site's rank. A missing factor means "all" along that axis.
 */
export interface CompiledIntervention {
  readonly index: number;
  readonly intervention: Intervention;
  readonly site: SiteInfo;
  /** Axis of the site that `positions` select (the query pos axis), if any. */
  readonly posAxis: number | null;
  readonly headAxis: number | null;
}

export const inputName = (i: number, param: string): string => `iv${i}.${param}`;

/** The structural part of a plan: what decides the compiled graph (no index lists, no values). */
export const planKey = (plan: Plan): string => {
  const shapeOf = (t: Target) => ({
    site: t.site,
    heads: t.heads !== undefined,
    positions: t.positions !== undefined && t.positions !== "all",
    dims: t.dims !== undefined,
  });
  return JSON.stringify({
    captures: [...plan.captures].sort(),
    interventions: plan.interventions.map((iv) => ({ ...iv, target: shapeOf(iv.target) })),
    metric: plan.metric ?? null,
    gradients: plan.gradients,
    edges: plan.edges ?? null,
    logits: plan.logits,
    ...(plan.weightsAsInputs === true ? { weightsAsInputs: true } : {}),
  });
};

export const locate = (c: ModelConfig, iv: Intervention, index: number): CompiledIntervention | string => {
  const r = lookupSite(c, iv.target.site);
  if (!r.ok) return `unknown site ${JSON.stringify(iv.target.site)}; nearest: ${r.suggestions.join(", ")}`;
  const dims = r.site.dims;
  const posAxis = dims.indexOf("pos");
  const headAxis = dims.findIndex((d) => d === "head" || d === "kv_head");
  return {
    index,
    intervention: iv,
    site: r.site,
    posAxis: posAxis < 0 ? null : posAxis,
    headAxis: headAxis < 0 ? null : headAxis,
  };
};

/** Unsqueeze `v` (whose axes sit at `axes` of a rank-`rank` tensor) so it broadcasts there. */
const placeAt = (g: GraphBuilder, v: Value, axes: readonly number[], rank: number): Value => {
  let out = v;
  for (let a = 0; a < rank; a++) if (!axes.includes(a)) out = g.unsqueeze(out, a);
  return out;
};

/** The selection mask M of an intervention at its site, or null for "everything". */
const selection = (g: GraphBuilder, ci: CompiledIntervention, x: Value): Value | null => {
  const t = ci.intervention.target;
  const rank = x.shape.length;
  const factors: Value[] = [];
  if (t.positions !== undefined && t.positions !== "all" && ci.posAxis !== null) {
    const m = g.input(inputName(ci.index, "pos"), "float32", ["batch", "pos"]);
    factors.push(placeAt(g, m, [0, ci.posAxis], rank));
  }
  if (t.heads !== undefined && ci.headAxis !== null) {
    const H = x.shape[ci.headAxis]!;
    const m = g.input(inputName(ci.index, "head"), "float32", [H]);
    factors.push(placeAt(g, m, [ci.headAxis], rank));
  }
  if (t.dims !== undefined) {
    factors.push(g.input(inputName(ci.index, "dim"), "float32", [x.shape[rank - 1]!]));
  }
  if (factors.length === 0) return null;
  return factors.reduce((a, b) => g.mul(a, b));
};

/** x′ = x + M ⊙ δ (or x + δ when nothing is selected). */
const applyMasked = (g: GraphBuilder, x: Value, m: Value | null, delta: Value): Value =>
  g.add(x, m === null ? delta : g.mul(m, delta));

const applyOne = (g: GraphBuilder, ci: CompiledIntervention, x: Value): Value => {
  const iv = ci.intervention;
  const i = ci.index;
  const m = selection(g, ci, x);
  const D = x.shape[x.shape.length - 1]!;
  switch (iv._tag) {
    case "replace": {
      const P = g.input(inputName(i, "value"), "float32", x.shape);
      return m === null ? P : applyMasked(g, x, m, g.sub(P, x));
    }
    case "add": {
      const v = g.input(inputName(i, "value"), "float32", iv.shape === "vector" ? [D] : x.shape);
      return applyMasked(g, x, m, v);
    }
    case "scale": {
      const s = g.input(inputName(i, "factor"), "float32", []);
      return applyMasked(g, x, m, g.mul(g.sub(s, g.scalar(1)), x));
    }
    case "subspace": {
      // x′ = x + Rᵀ(m ⊙ R(s − x)):  (s − x) [..., D] · Rᵀ [D, k] → [..., k];  ⊙ m [k];  · R [k, D] → [..., D]
      const R = g.input(inputName(i, "rotation"), "float32", [iv.rank, D]);
      const mk = g.input(inputName(i, "mask"), "float32", [iv.rank]);
      const s = g.input(inputName(i, "source"), "float32", x.shape);
      const coords = g.mul(g.matmul(g.sub(s, x), g.transpose(R, [1, 0])), mk);
      return applyMasked(g, x, m, g.matmul(coords, R));
    }
    case "project-out": {
      // x′ = x − (x·Q)Qᵀ:  x [..., D] · Q [D, k] → [..., k] · Qᵀ [k, D] → [..., D]
      const Q = g.input(inputName(i, "basis"), "float32", [D, iv.rank]);
      const proj = g.matmul(g.matmul(x, Q), g.transpose(Q, [1, 0]));
      return applyMasked(g, x, m, g.neg(proj));
    }
  }
};

/** Hooks that apply every intervention of the plan at its site, in plan order. */
export const interventionHooks = (compiled: readonly CompiledIntervention[]): SiteHooks => {
  const bySite = new Map<string, CompiledIntervention[]>();
  for (const ci of compiled) bySite.set(ci.site.name, [...(bySite.get(ci.site.name) ?? []), ci]);
  return {
    touched: new Set(bySite.keys()),
    at: (site, value, g) => (bySite.get(site) ?? []).reduce((x, ci) => applyOne(g, ci, x), value),
  };
};
