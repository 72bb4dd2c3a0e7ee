// A strict TypeScript consumer of the published packages (module NodeNext): `tsc --noEmit` must
// report zero errors. It is type-checked, not run. Both APIs, and a scoped import.
import { runExperiment } from "@patchbay/experiments";
import { Effect } from "effect";
import { circuits, open, openModel, type PatchbayModel } from "patchbay";

/** The Effect API: a scoped model. */
export const layers = (path: string): Effect.Effect<number, unknown> =>
  Effect.scoped(Effect.map(openModel(path), (model) => model.config.nLayers));

/** The Promise API, with `await using`. */
export const eapEdges = async (path: string): Promise<readonly string[]> => {
  await using model: PatchbayModel = await open(path);
  const r: circuits.CircuitResult = await circuits.eap(model, { n: 8 });
  const first: number | undefined = r.scores[0];
  return first === undefined ? [] : r.circuit;
};

export const experiment: typeof runExperiment = runExperiment;
