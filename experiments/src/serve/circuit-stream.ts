import { type EdgeLayout, sourceSite } from "@patchbay/core/edges";
import type { HostTensor } from "@patchbay/core/tensor";

/**
 * The residual stream of a circuit (an edge-masked model), for the explorer's logit lens.
 *
 * In the edge-masked graph (core/src/edges/hooks.ts) the stream itself is never patched: every
 * destination reads in_v − Σ_u (1 − m_uv)(z_u − z′_u), and only the logits' input, the last
 * resid_post, is such a destination. So the lens of a circuit reads, at the boundary after block l,
 * what the logits would read if the model ended there, with the circuit's own logits edges:
 *
 *   r_l(C) = resid_post_l − Σ_{u written in blocks ≤ l, or the input} (1 − m_{u→logits}) (z_u − z′_u)
 *
 * with resid_post_l and z_u from the edge-masked run under the mask C (each source's output
 * computed from its own masked inputs) and z′_u its ablated value: the stream where every source
 * the circuit does not connect to the logits is replaced by its ablated value. At the last block
 * this is the logits' input itself (the circuit's output); with every edge in it is the full
 * model's resid_post_l.
 *
 * `captured` holds the edge-masked run's sites of one prompt ([1, P, …]: every
 * blocks.l.resid_post and every source site, Edges.sourceSite); `mask` is one row [S·D];
 * `ablated` is z′ [1, P, S, d]. Returns r_l [1, P, d] for l = 0 … nLayers − 1.
 */
export const circuitResiduals = (
  layout: EdgeLayout,
  mask: Float32Array,
  captured: ReadonlyMap<string, HostTensor>,
  ablated: HostTensor,
): HostTensor[] => {
  const S = layout.sources.length;
  const D = layout.destinations.length;
  const logits = layout.destinations.find((v) => v.name === "logits")!.index;
  const [, P, , d] = ablated.shape as [number, number, number, number];
  const out: HostTensor[] = [];
  for (let l = 0; l < layout.nLayers; l++) {
    const site = `blocks.${l}.resid_post`;
    const r = captured.get(site)!;
    const data = Float32Array.from(r.data);
    // the last resid_post is the logits' input: the edge hooks have already applied this sum
    if (l < layout.nLayers - 1)
      for (let s = 0; s < S; s++) {
        const src = layout.sources[s]!;
        if (src.layer !== null && src.layer > l) continue;
        const keep = mask[s * D + logits]!;
        if (keep === 1) continue;
        const { site: zSite, head } = sourceSite(layout, s);
        const z = captured.get(zSite)!; // [1, P, d] or [1, P, H, d]
        const H = head === null ? 1 : z.shape[2]!;
        for (let p = 0; p < P; p++)
          for (let i = 0; i < d; i++) {
            const zu = z.data[(p * H + (head ?? 0)) * d + i]!;
            const zPrime = ablated.data[(p * S + s) * d + i]!;
            data[p * d + i] = data[p * d + i]! - (1 - keep) * (zu - zPrime);
          }
      }
    out.push({ shape: r.shape, data });
  }
  return out;
};

/** The sites circuitResiduals reads from the edge-masked run. */
export const circuitStreamSites = (layout: EdgeLayout): string[] => [
  ...new Set([
    ...Array.from({ length: layout.nLayers }, (_, l) => `blocks.${l}.resid_post`),
    ...layout.sources.map((_, s) => sourceSite(layout, s).site),
  ]),
];
