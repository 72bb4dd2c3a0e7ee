import type { GraphBuilder, Value } from "../graph/index.ts";

/**
 * How a plan reaches into the model while it is built. At every site the builder calls `at`,
 * which may splice in ops and return a replacement value (interventions); `touched` lists the
 * sites `at` will change, so the builder materialises their general form (per-head inputs,
 * per-head results) only when something needs it. Captured sites become graph outputs named
 * after the site. Nothing else is materialised.
 */
export interface SiteHooks {
  readonly touched: ReadonlySet<string>;
  at(site: string, value: Value, g: GraphBuilder): Value;
  /**
   * Grouped-query attention computed per query head: each query head gets its own key and value,
   * its group's W_K / W_V applied to its own input, so the sites k_input, v_input, k, v and rot_k
   * have one slot per query head (edge patching at head-qkv granularity). Default false.
   */
  readonly kvPerQueryHead?: boolean;
}

/** The graph value name of a site that is a gradient leaf (see BuildOptions.leaves). */
export const leafName = (site: string): string => `leaf(${site})`;

export class SiteRecorder {
  constructor(
    private readonly g: GraphBuilder,
    private readonly captured: ReadonlySet<string>,
    private readonly hooks: SiteHooks | null,
    private readonly leaves: ReadonlySet<string> = new Set(),
  ) {}

  /** Is this site observed or changed by the plan? (Costly sites are built only then.) */
  wants(site: string): boolean {
    return this.captured.has(site) || this.touches(site);
  }

  /** See SiteHooks.kvPerQueryHead. */
  get kvPerQueryHead(): boolean {
    return this.hooks?.kvPerQueryHead === true;
  }

  touches(site: string): boolean {
    return this.hooks?.touched.has(site) ?? false;
  }

  /** Pass a value through its site: the plan's hook, then capture. */
  mark(site: string, v: Value): Value {
    return this.capture(site, this.hook(site, v));
  }

  /** The plan's hook alone (attention scores are hooked before the causal mask, captured after). */
  hook(site: string, v: Value): Value {
    return this.hooks !== null ? this.hooks.at(site, v, this.g) : v;
  }

  capture(site: string, value: Value): Value {
    // A gradient leaf gets a stable name that everything downstream reads.
    const v = this.leaves.has(site) ? this.g.named(value, leafName(site)) : value;
    this.seen.set(site, v);
    if (this.captured.has(site)) this.g.output(this.g.named(v, site));
    return v;
  }

  /** Each site's value as the rest of the graph reads it (after the plan's hooks). */
  readonly seen = new Map<string, Value>();
}
