import { type EdgeLayout, edgeLayout } from "@patchbay/core/edges";
import { gpt2SmallConfig, type ModelConfig } from "@patchbay/core/model";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type Circuit, edgeCount } from "../graph/circuit.ts";
import { configArb, maskArb, scoresArb, shape } from "../graph/testing.ts";
import { topology, touchedComponents } from "../graph/topology.ts";
import { toDot } from "./dot.ts";
import { fromMibJson, mibJsonProblem, toMibJson } from "./mib-json.ts";
import { toSvg } from "./svg.ts";

/**
 * EAP-IG's edge names, rebuilt independently from Graph.from_model's loops
 * (hannamw/EAP-IG src/eap/graph.py): per layer, every residual-stream writer feeds each head's
 * q, k, v; serial blocks append the heads before the MLP reads, parallel ones after.
 */
const eapIgEdgeNames = (nLayers: number, nHeads: number, parallel: boolean): string[] => {
  const names: string[] = [];
  const stream = ["input"];
  for (let l = 0; l < nLayers; l++) {
    const heads = Array.from({ length: nHeads }, (_, h) => `a${l}.h${h}`);
    for (const u of stream) for (const a of heads) for (const x of "qkv") names.push(`${u}->${a}<${x}>`);
    if (parallel) for (const u of stream) names.push(`${u}->m${l}`);
    stream.push(...heads);
    if (!parallel) for (const u of stream) names.push(`${u}->m${l}`);
    stream.push(`m${l}`);
  }
  for (const u of stream) names.push(`${u}->logits`);
  return names;
};

const randomCircuit = (layout: EdgeLayout, seed: number): Circuit => {
  let x = seed >>> 0 || 1;
  const rnd = () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
  const scores = Float64Array.from(layout.edges, () => rnd() * 2 - 1);
  return { layout, inGraph: Uint8Array.from(layout.edges, () => (rnd() < 0.1 ? 1 : 0)), scores };
};

describe("MIB JSON", () => {
  it("GPT-2 small: the keys of EAP-IG's Graph.to_json, every edge name EAP-IG builds", () => {
    const layout = edgeLayout(gpt2SmallConfig);
    const j = toMibJson(layout, randomCircuit(layout, 7), gpt2SmallConfig);
    expect(Object.keys(j).sort()).toEqual(["cfg", "edges", "nodes"]);
    expect(j.cfg).toEqual({ n_layers: 12, n_heads: 12, parallel_attn_mlp: false, d_model: 768 });
    expect(Object.keys(j.edges).sort()).toEqual(eapIgEdgeNames(12, 12, false).sort());
    expect(Object.keys(j.edges).length).toBe(32_491);
    expect(Object.keys(j.nodes).length).toBe(1 + 12 * 13 + 1);
    expect(j.nodes.logits).toEqual({ in_graph: true });
    const e = j.edges["a0.h1->a3.h2<k>"]!;
    expect(Object.keys(e).sort()).toEqual(["in_graph", "score"]);
  });

  it("parallel residual: names match EAP-IG's parallel_attn_mlp graph", () => {
    const cfg = shape({ nLayers: 3, nHeads: 2, parallel: true });
    const layout = edgeLayout(cfg);
    const j = toMibJson(layout, randomCircuit(layout, 3), cfg);
    expect(j.cfg.parallel_attn_mlp).toBe(true);
    expect(Object.keys(j.edges).sort()).toEqual(eapIgEdgeNames(3, 2, true).sort());
  });

  it("node in_graph: an out-edge, and an in-edge unless it is the input", () => {
    const cfg = shape({ nLayers: 2, nHeads: 2 });
    const layout = edgeLayout(cfg);
    const inGraph = new Uint8Array(layout.edges.length);
    const idx = (n: string) => layout.edges.findIndex((e) => e.name === n);
    inGraph[idx("input->a0.h1<v>")] = 1;
    inGraph[idx("a0.h1->logits")] = 1;
    inGraph[idx("a0.h0->m1")] = 1; // a0.h0 has no in-edge
    const j = toMibJson(layout, { layout, inGraph }, cfg);
    expect(j.nodes.input).toEqual({ in_graph: true });
    expect(j.nodes["a0.h1"]).toEqual({ in_graph: true });
    expect(j.nodes["a0.h0"]).toEqual({ in_graph: false });
    expect(j.nodes.m1).toEqual({ in_graph: false }); // no out-edge
    expect(j.edges["input->logits"]).toEqual({ score: 0, in_graph: false });
  });

  it("GQA: head-qkv writes every edge once under MIB's names; the shared head layout is refused", () => {
    const cfg = shape({ nLayers: 2, nHeads: 4, nKvHeads: 2 });
    const layout = edgeLayout(cfg, "head-qkv");
    const c = randomCircuit(layout, 11); //                           distinct random scores
    const j = toMibJson(layout, c, cfg);
    expect(Object.keys(j.edges).sort()).toEqual(eapIgEdgeNames(2, 4, false).sort());
    expect(Object.keys(j.edges).length).toBe(layout.edges.length);
    // no score appears twice: the file's scores are the layout's, one each
    const written = Object.values(j.edges).map((e) => e.score);
    expect(new Set(written).size).toBe(written.length);
    expect(written.sort()).toEqual([...c.scores!].sort());
    expect(j.edges["a0.h3->a1.h2<k>"]!.score).toBe(
      c.scores![layout.edges.find((e) => e.name === "a0.h3->a1.h2<k>")!.index],
    );
    const back = fromMibJson(layout, JSON.stringify(j));
    expect(back.inGraph).toEqual(c.inGraph);
    expect(back.scores).toEqual(Float64Array.from(c.scores!));
    // the head layout shares a1.kv1<k> between a1.h2 and a1.h3: no MIB form, both directions
    const shared = edgeLayout(cfg, "head");
    const sc = randomCircuit(shared, 11);
    for (const f of [() => toMibJson(shared, sc, cfg), () => fromMibJson(shared, j)]) {
      let err: unknown;
      try {
        f();
      } catch (e) {
        err = e;
      }
      expect((err as { _tag?: string })._tag).toBe("InputError");
      expect(String((err as Error).message)).toMatch(/granularity.*head-qkv.*kv0<k>.*duplicating/s);
    }
    expect(mibJsonProblem(shared)?._tag).toBe("InputError");
    expect(mibJsonProblem(layout)).toBeNull();
  });

  it("property: round trip through JSON text restores inGraph and scores", () => {
    const arb = configArb.chain((cfg) => {
      const layout = edgeLayout(cfg, "head-qkv");
      return fc.tuple(
        fc.constant(cfg),
        fc.constant(layout),
        maskArb(layout.edges.length),
        scoresArb(layout.edges.length),
        fc.boolean(),
      );
    });
    fc.assert(
      fc.property(
        arb,
        ([cfg, layout, inGraph, s, f32]: [ModelConfig, EdgeLayout, Uint8Array, Float64Array, boolean]) => {
          const scores = f32 ? Float32Array.from(s) : s;
          const text = JSON.stringify(toMibJson(layout, { layout, inGraph, scores }, cfg));
          const back = fromMibJson(layout, text);
          expect(back.inGraph).toEqual(inGraph);
          // JSON.stringify writes −0 as 0
          expect(back.scores).toEqual(Float64Array.from(scores, (v) => v + 0));
        },
      ),
      { numRuns: 100 },
    );
  });

  it("rejects mismatched configs, layer layouts and unknown edges; reads old boolean nodes", () => {
    const cfg = shape({ nLayers: 2, nHeads: 2 });
    const layout = edgeLayout(cfg);
    const c = randomCircuit(layout, 5);
    expect(() => toMibJson(layout, c, shape({ nLayers: 3, nHeads: 2 }))).toThrow(/does not match/);
    expect(() => toMibJson(edgeLayout(cfg, "layer"), c, cfg)).toThrow(/head-granularity/);
    const j = toMibJson(layout, c, cfg);
    expect(() => fromMibJson(edgeLayout(shape({ nLayers: 2, nHeads: 3 })), j)).toThrow(/n_heads/);
    const bad = { ...j, edges: { ...j.edges, "m1->a0.h0<q>": { score: 1, in_graph: true } } };
    expect(() => fromMibJson(layout, bad)).toThrow(/m1->a0.h0<q>/);
    const old = { ...j, nodes: Object.fromEntries(Object.keys(j.nodes).map((n) => [n, true])) };
    expect(fromMibJson(layout, old).inGraph).toEqual(c.inGraph);
    const partial = { ...j, edges: { "input->logits": { score: null, in_graph: true } } };
    const p = fromMibJson(layout, partial);
    expect(edgeCount(p.inGraph)).toBe(1);
    expect(p.scores[layout.edges.findIndex((e) => e.name === "input->logits")]).toBeNaN();
    expect(p.scores[0]).toBe(0);
  });

  it("a malformed file (another tool's) is an InputError naming the field", () => {
    const cfg = shape({ nLayers: 2, nHeads: 2 });
    const layout = edgeLayout(cfg);
    const j = toMibJson(layout, randomCircuit(layout, 5), cfg);
    const cases: [unknown, string][] = [
      ["{not json", "(document)"],
      [{ cfg: j.cfg, nodes: j.nodes }, "(document)"],
      [{ ...j, cfg: { ...j.cfg, n_layers: 3 } }, "cfg.n_layers"],
      [{ ...j, edges: { "input->logits": { score: "high", in_graph: true } } }, "edges.input->logits.score"],
      [{ ...j, edges: { "input->logits": { score: 1 } } }, "edges.input->logits"],
      ['{"cfg": {}, "nodes": {}, "edges": {}, "x": {"__proto__": {"polluted": 1}}}', "x.__proto__"],
    ];
    for (const [input, field] of cases) {
      let err: unknown = null;
      try {
        fromMibJson(layout, input as string);
      } catch (e) {
        err = e;
      }
      expect((err as { _tag?: string })?._tag, field).toBe("InputError");
      expect((err as { field: string }).field).toBe(`MIB circuit JSON: ${field}`);
    }
    expect(({} as { polluted?: unknown }).polluted).toBeUndefined();
  });
});

/** A minimal XML well-formedness check: balanced tags, quoted attributes, known entities only. */
const checkXml = (xml: string): { tags: string[]; ids: string[] } => {
  const body = xml.replace(/^<\?xml[^?]*\?>\s*/, "");
  const stack: string[] = [];
  const tags: string[] = [];
  const ids: string[] = [];
  const tagRe = /<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>/g;
  let last = 0;
  for (let m = tagRe.exec(body); m; m = tagRe.exec(body)) {
    const text = body.slice(last, m.index);
    expect(text).not.toMatch(/[<>]/);
    expect(text.replace(/&(amp|lt|gt|quot|apos);/g, "")).not.toContain("&");
    last = m.index + m[0].length;
    const [, close, name, attrs, selfClose] = m;
    expect(attrs!.replace(/&(amp|lt|gt|quot|apos);/g, "")).not.toContain("&");
    const id = /\sid="([^"]*)"/.exec(attrs!);
    if (id) ids.push(id[1]!.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&"));
    if (close) expect(stack.pop()).toBe(name);
    else {
      tags.push(name!);
      if (!selfClose) stack.push(name!);
    }
  }
  expect(body.slice(last).trim()).toBe("");
  expect(stack).toEqual([]);
  expect(tags[0]).toBe("svg");
  return { tags, ids };
};

describe("DOT and SVG", () => {
  it("DOT: one edge statement per in-graph edge, every touched node declared, bottom-to-top", () => {
    const layout = edgeLayout(shape({ nLayers: 2, nHeads: 3 }));
    const c = randomCircuit(layout, 9);
    const dot = toDot(c);
    expect(dot.startsWith("digraph circuit {")).toBe(true);
    expect(dot).toContain("rankdir=BT;");
    const edgeLines = dot.split("\n").filter((l) => / -> /.test(l) && !l.includes("dashed"));
    expect(edgeLines.length).toBe(edgeCount(c.inGraph));
    const t = topology(layout);
    const touched = touchedComponents(t, c.inGraph);
    for (const comp of t.components)
      expect(dot.includes(`  "${comp.name}" [kind=`)).toBe(touched[comp.id] === 1);
    expect(dot).toMatch(/"a\d\.h\d" -> "a\d\.h\d" \[color="#(0072B2|009E73|D55E00)"/);
  });

  it("SVG: valid XML, <line> per in-graph edge, a node group per drawn component, input below logits", () => {
    fc.assert(
      fc.property(configArb, fc.integer({ min: 1, max: 2 ** 31 }), (cfg, seed) => {
        const layout = edgeLayout(cfg);
        const c = randomCircuit(layout, seed);
        const svg = toSvg(c);
        const { tags, ids } = checkXml(svg);
        expect(tags.filter((x) => x === "line").length).toBe(edgeCount(c.inGraph));
        const t = topology(layout);
        const touched = touchedComponents(t, c.inGraph);
        const expected = t.components.filter((x) => touched[x.id]).map((x) => `node-${x.name}`);
        expect(ids.sort()).toEqual(expected.sort());
        for (const e of layout.edges)
          if (c.inGraph[e.index])
            expect(svg).toContain(`<title>${e.name.replace(/</g, "&lt;").replace(/>/g, "&gt;")} `);
        const y = (name: string) =>
          Number(new RegExp(`id="node-${name}"[^>]*><rect x="[^"]*" y="([^"]*)"`).exec(svg)![1]);
        expect(y("input")).toBeGreaterThan(y("logits"));
        // the legend fits: its last label ends inside the drawing (≤ 7.2 px per character at 10 px)
        const width = Number(/<svg [^>]*width="([^"]*)"/.exec(svg)![1]);
        const legend = /<g class="legend">([\s\S]*?)<\/g>/.exec(svg)![1]!;
        const last = [...legend.matchAll(/<text x="([^"]*)"[^>]*>([^<]*)<\/text>/g)].at(-1)!;
        expect(Number(last[1]) + 7.2 * last[2]!.length).toBeLessThanOrEqual(width);
      }),
      { numRuns: 40 },
    );
  });

  it("SVG: stroke width grows with |score|, q/k/v coloured apart", () => {
    const layout = edgeLayout(shape({ nLayers: 1, nHeads: 1, mlp: false }));
    // input->a0.h0<q>, <k>, <v>, input->logits, a0.h0->logits
    const scores = Float64Array.from([0.1, -0.5, 1, 2, -4]);
    const svg = toSvg({ layout, inGraph: Uint8Array.from([1, 1, 1, 1, 1]), scores });
    const widths = [...svg.matchAll(/stroke-width="([^"]*)"/g)].map((m) => Number(m[1]));
    expect(widths).toEqual(
      [0.6 + 4.4 * (0.1 / 4), 0.6 + 4.4 * (0.5 / 4), 0.6 + 4.4 * (1 / 4), 0.6 + 4.4 * (2 / 4), 5].map((w) =>
        Number(w.toFixed(3)),
      ),
    );
    const strokes = [...svg.matchAll(/<line class="edge (\w+)"[^>]*stroke="([^"]*)"/g)].map((m) => [
      m[1],
      m[2],
    ]);
    expect(strokes).toEqual([
      ["q", "#0072B2"],
      ["k", "#009E73"],
      ["v", "#D55E00"],
      ["logits", "#333333"],
      ["logits", "#C0143C"],
    ]);
  });

  it("GQA: kv nodes drawn with dashed links to their heads", () => {
    const layout = edgeLayout(shape({ nLayers: 2, nHeads: 4, nKvHeads: 2 }));
    const svg = toSvg({ layout, inGraph: new Uint8Array(layout.edges.length).fill(1) });
    const { ids } = checkXml(svg);
    expect(ids).toContain("node-a1.kv0");
    expect([...svg.matchAll(/class="kv-link"/g)].length).toBe(2 * 4);
    expect(
      toDot({ layout, inGraph: new Uint8Array(layout.edges.length).fill(1) }).split("dashed").length - 1,
    ).toBe(8);
  });
});
