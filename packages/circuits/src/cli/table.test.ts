import { commandHelp, EDGE_ABLATIONS, GRANULARITIES, METRIC_KINDS } from "@patchbay/core/cli/table";
import { describe, expect, it } from "vitest";
import { tagsOf } from "../../../core/src/testing/schema.ts";
import { Method } from "../methods/discover.ts";
import { ACDC_ORDERS, CIRCUIT_METHODS, circuitSpec, circuitUsage, METHOD_TAGS } from "./table.ts";

describe("patchbay circuit: its usage lists the code's own methods, orders, metrics, ablations, granularities", () => {
  it("the method list is the Method Schema's tags (plus eap-ig, the default, for eap-ig-inputs)", () => {
    expect(tagsOf(Method.ast)).toEqual([...METHOD_TAGS]);
    expect(CIRCUIT_METHODS.filter((m) => m !== "eap-ig")).toEqual([...METHOD_TAGS]);
    expect(JSON.stringify(Method.ast)).toContain(JSON.stringify(ACDC_ORDERS[2]));
  });

  it("the usage line and --help print every list whole", () => {
    for (const list of [CIRCUIT_METHODS, ACDC_ORDERS, METRIC_KINDS, EDGE_ABLATIONS, GRANULARITIES])
      expect(circuitUsage).toContain(list.join("|"));
    const help = commandHelp(circuitSpec);
    for (const [flag, list] of [
      ["method", CIRCUIT_METHODS],
      ["order", ACDC_ORDERS],
      ["metric", METRIC_KINDS],
      ["ablation", EDGE_ABLATIONS],
      ["granularity", GRANULARITIES],
    ] as const)
      expect(help).toMatch(new RegExp(`^  --${flag} +${list.join(", ")}`, "m"));
  });
});
