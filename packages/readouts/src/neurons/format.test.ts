import { describe, expect, it } from "vitest";
import { InputError } from "@patchbay/core/errors";
import { neuronRecordFromJson, neuronRecordToJson, maxActivation } from "./format.ts";
import {
  cleanExplanation,
  EXPLANATION_PREFIX,
  explanationPrompt,
  formatRecords,
  normalizeActivations,
  parseSimulationText,
  simulationPrompt,
} from "./prompts.ts";

/** A record as neuron-explainer's fast_dataclasses writes it (orjson: NaN moments become null). */
const python = {
  dataclass_name: "NeuronRecord",
  neuron_id: { dataclass_name: "NeuronId", layer_index: 3, neuron_index: 17 },
  random_sample: [{ dataclass_name: "ActivationRecord", tokens: ["a", " b"], activations: [0.1, -0.2] }],
  random_sample_by_quantile: null,
  quantile_boundaries: null,
  mean: null,
  variance: 0.5,
  skewness: null,
  kurtosis: null,
  most_positive_activation_records: [
    { dataclass_name: "ActivationRecord", tokens: ["x"], activations: [2.5] },
  ],
};

describe("neuron-explainer JSON", () => {
  it("reads their records (with or without dataclass_name) and writes them back unchanged", () => {
    const r = neuronRecordFromJson(python);
    expect(r.neuronId).toEqual({ layerIndex: 3, neuronIndex: 17 });
    expect(r.mean).toBeNull();
    expect(r.variance).toBe(0.5);
    expect(neuronRecordToJson(r)).toEqual(python);
    const bare = JSON.parse(JSON.stringify(python).replace(/"dataclass_name":"\w+",/g, ""));
    expect(neuronRecordFromJson(bare)).toEqual(r);
    expect(maxActivation(r.mostPositiveActivationRecords)).toBe(2.5);
  });

  it("non-finite moments are written as null; bad input is an InputError naming the field", () => {
    const r = neuronRecordFromJson(python);
    expect(
      neuronRecordToJson({ ...r, mean: Number.NaN, kurtosis: Number.POSITIVE_INFINITY }).mean,
    ).toBeNull();
    expect(() => neuronRecordFromJson({ neuron_id: { layer_index: "3" } })).toThrow(InputError);
    try {
      neuronRecordFromJson({ ...python, random_sample: [{ tokens: ["a"], activations: [1, 2] }] });
      expect.unreachable();
    } catch (e) {
      expect((e as InputError).field).toBe("random_sample[0]");
    }
  });
});

describe("prompts", () => {
  const records = [
    { tokens: ["the", " cat", " sat"], activations: [0, 4, -1] },
    { tokens: [" a", " dog"], activations: [8, 0.79] },
  ];

  it("normalises to integers 0–10 by the max (ReLU'd, floored, capped)", () => {
    expect(normalizeActivations([0, 4, -1, 8, 0.79, 9], 8)).toEqual([0, 5, 0, 10, 0, 10]);
    expect(normalizeActivations([1, 2], 0)).toEqual([0, 0]);
  });

  it("formats records as token<TAB>value between <start>/<end>, as neuron-explainer does", () => {
    expect(formatRecords(records, 8)).toBe(
      "\n<start>\nthe\t0\n cat\t5\n sat\t0\n<end>\n<start>\n a\t10\n dog\t0\n<end>\n",
    );
    expect(formatRecords(records, 8, { omitZeros: true })).toBe(
      "\n<start>\n cat\t5\n<end>\n<start>\n a\t10\n<end>\n",
    );
    const p = explanationPrompt(records, 8);
    expect(p.messages[1]!.content.endsWith(`behavior: ${EXPLANATION_PREFIX}`)).toBe(true);
    expect(p.text).toBe(p.messages.map((m) => m.content).join(""));
  });

  it("the simulation prompt's parts concatenate to its text, with one slot per token after its TAB", () => {
    const p = simulationPrompt("cats", ["the", " cat"]);
    expect(p.text).toBe(p.parts.map((x) => x.text).join(""));
    const slots = p.parts.filter((x) => x.slot !== undefined);
    expect(slots.map((x) => [x.text, x.slot])).toEqual([
      ["the\t", 0],
      [" cat\t", 1],
    ]);
    expect(p.text).toContain(
      `${EXPLANATION_PREFIX} cats\nActivations: \n<start>\nthe\tunknown\n cat\tunknown\n<end>\n`,
    );
  });

  it("parses chat answers and explanations", () => {
    expect(parseSimulationText("<start>\nthe\t0\n cat\t10\n<end>", 2)).toEqual([0, 10]);
    expect(parseSimulationText("the\t3\n cat\t12", 2)).toEqual([3, 10]);
    expect(parseSimulationText("the\t3", 2)).toBeNull();
    expect(cleanExplanation(` ${EXPLANATION_PREFIX} cats and dogs.\nmore`)).toBe("cats and dogs");
  });
});
