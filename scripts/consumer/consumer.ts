// A strict TypeScript consumer of the published packages (module NodeNext, skipLibCheck off):
// `tsc --noEmit` must report zero errors. It is type-checked, not run.
import { runExperiment } from "@patchbay/experiments";
import { Effect } from "effect";
import { openModel } from "patchbay";

export const sites = (path: string) =>
  Effect.scoped(
    Effect.gen(function* () {
      const model = yield* openModel(path);
      const layers: number = model.config.nLayers;
      return layers;
    }),
  );

export const experiment: typeof runExperiment = runExperiment;
