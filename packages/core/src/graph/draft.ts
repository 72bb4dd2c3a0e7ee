import type { HostTensor } from "../tensor/index.ts";
import type { Attr, Dim, DType, Graph, InitData, Initializer, Node, Value } from "./ir.ts";
import { ShapeMismatch } from "./shapes.ts";

/**
 * A graph being written: its named values, inputs, initializers (weights and constants), nodes
 * and outputs, and `build()`, which prunes it to what the outputs need. The operators, each with
 * its shape inference, are GraphBuilder's (builder.ts).
 */
export abstract class GraphDraft {
  protected readonly inputs: Value[] = [];
  protected readonly inits: Initializer[] = [];
  protected readonly nodes: Node[] = [];
  protected readonly outputs: Value[] = [];
  protected readonly values = new Map<string, Value>();
  private readonly scalars = new Map<string, Value>();
  protected counter = 0;
  /** Canonical weights that become graph inputs instead of initializers (see `weight`). */
  private readonly weightInputs: ReadonlyMap<string, HostTensor> | null;

  /**
   * `weightInputs`: weights by name that `weight()` declares as float32 graph inputs of the
   * canonical shape (fed at run time, so one session serves changing weights, as in training).
   */
  constructor(
    readonly name: string,
    opts: { readonly weightInputs?: ReadonlyMap<string, HostTensor> } = {},
  ) {
    this.weightInputs = opts.weightInputs ?? null;
  }

  /** Whether weights are graph inputs (builders then avoid host-side fused copies of weights). */
  get weightsAreInputs(): boolean {
    return this.weightInputs !== null;
  }

  has(name: string): boolean {
    return this.values.has(name);
  }

  get(name: string): Value {
    const v = this.values.get(name);
    if (v === undefined) throw new ShapeMismatch(`graph ${this.name}: no value named ${name}`);
    return v;
  }

  /** A fresh value name; `hint` keeps the ONNX graph readable. */
  fresh(hint: string): string {
    let n = `${hint}#${this.counter++}`;
    while (this.values.has(n)) n = `${hint}#${this.counter++}`;
    return n;
  }

  private define(name: string, dtype: DType, shape: readonly Dim[]): Value {
    if (this.values.has(name)) throw new ShapeMismatch(`graph ${this.name}: value ${name} defined twice`);
    const v: Value = { name, dtype, shape: [...shape] };
    this.values.set(name, v);
    return v;
  }

  input(name: string, dtype: DType, shape: readonly Dim[]): Value {
    const v = this.define(name, dtype, shape);
    this.inputs.push(v);
    return v;
  }

  /** A float32 initializer; asking again for the same name and tensor returns the same value. */
  weight(name: string, t: HostTensor): Value {
    return this.weightInputs !== null ? this.weightInput(name, t) : this.initializer(name, t);
  }

  private initializer(name: string, t: HostTensor): Value {
    const existing = this.inits.find((i) => i.value.name === name);
    if (existing !== undefined && existing.data.dtype === "float32" && existing.data.tensor.data === t.data) {
      return existing.value;
    }
    const v = this.define(name, "float32", t.shape);
    this.inits.push({ value: v, data: { dtype: "float32", tensor: t } });
    return v;
  }

  /**
   * Weights as inputs: the input `name` has the canonical shape of weightInputs[name]; a request
   * for another shape of the same data (e.g. W_O as [H·d_head, d]) is a Reshape of that input.
   * Names that are not weights (constants such as rotary.inv_freq) stay initializers.
   */
  private weightInput(name: string, t: HostTensor): Value {
    const canonical = this.weightInputs!.get(name);
    if (canonical === undefined) return this.initializer(name, t);
    if (canonical.data.length !== t.data.length)
      throw new ShapeMismatch(
        `graph ${this.name}: weight ${name} [${canonical.shape.join(", ")}] requested as [${t.shape.join(", ")}]`,
      );
    const v = this.values.get(name) ?? this.input(name, "float32", canonical.shape);
    const same = v.shape.length === t.shape.length && v.shape.every((d, i) => d === t.shape[i]);
    return same ? v : this.reshape(v, t.shape);
  }

  int64s(values: readonly number[], shape: readonly number[] = [values.length], hint = "const"): Value {
    const v = this.define(this.fresh(hint), "int64", shape);
    const data: InitData = {
      dtype: "int64",
      data: BigInt64Array.from(values.map(BigInt)),
      shape: [...shape],
    };
    this.inits.push({ value: v, data });
    return v;
  }

  /** A float32 scalar constant, shared by value. */
  scalar(x: number): Value {
    const key = Object.is(x, -0) ? "-0" : String(x);
    const cached = this.scalars.get(key);
    if (cached !== undefined) return cached;
    const v = this.define(this.fresh(`scalar(${key})`), "float32", []);
    this.inits.push({
      value: v,
      data: { dtype: "float32", tensor: { data: Float32Array.of(x), shape: [] } },
    });
    this.scalars.set(key, v);
    return v;
  }

  /** Append a node whose single output has the given dtype and shape. */
  node(
    op: string,
    inputs: readonly Value[],
    dtype: DType,
    shape: readonly Dim[],
    attrs: Record<string, Attr> = {},
    name?: string,
  ): Value {
    const out = this.define(name ?? this.fresh(op), dtype, shape);
    this.nodes.push({ op, inputs: inputs.map((v) => v.name), outputs: [out.name], attrs });
    return out;
  }

  /** A node of ORT's contrib operator set (com.microsoft), e.g. FusedMatMul. */
  contrib(
    op: string,
    inputs: readonly Value[],
    dtype: DType,
    shape: readonly Dim[],
    attrs: Record<string, Attr>,
  ): Value {
    const out = this.define(this.fresh(op), dtype, shape);
    this.nodes.push({
      op,
      domain: "com.microsoft",
      inputs: inputs.map((v) => v.name),
      outputs: [out.name],
      attrs,
    });
    return out;
  }

  /** Mark a value as a graph output. */
  output(v: Value): void {
    if (!this.outputs.some((o) => o.name === v.name)) this.outputs.push(v);
  }

  /** Stop returning the outputs `drop` rejects (what only they needed is pruned by build()). */
  dropOutputs(drop: (name: string) => boolean): void {
    const kept = this.outputs.filter((o) => !drop(o.name));
    this.outputs.length = 0;
    this.outputs.push(...kept);
  }

  /** Give a value a stable name (e.g. a site name) through an Identity node. */
  named(v: Value, name: string): Value {
    return this.node("Identity", [v], v.dtype, v.shape, {}, name);
  }

  /**
   * The graph, pruned to what the outputs need: nodes, initializers and inputs no output depends
   * on are dropped, so a site costs nothing unless the plan uses it.
   */
  build(): Graph {
    const live = new Set(this.outputs.map((o) => o.name));
    const nodes: Node[] = [];
    for (let i = this.nodes.length - 1; i >= 0; i--) {
      const n = this.nodes[i]!;
      if (!n.outputs.some((o) => live.has(o))) continue;
      nodes.push(n);
      for (const x of n.inputs) live.add(x);
    }
    nodes.reverse();
    return {
      name: this.name,
      inputs: this.inputs.filter((v) => live.has(v.name)),
      initializers: this.inits.filter((i) => live.has(i.value.name)),
      nodes,
      outputs: [...this.outputs],
      values: new Map([...this.values].filter(([k]) => live.has(k))),
    };
  }

  /** Reshape (an operator of GraphBuilder): weights as inputs reshape the canonical tensor. */
  abstract reshape(x: Value, shape: readonly Dim[]): Value;
}
