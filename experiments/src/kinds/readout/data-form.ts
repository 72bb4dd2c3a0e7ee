import { Effect, Schema } from "effect";
import { decodeDocument } from "../../spec/parse.ts";
import type { ExperimentFileError } from "../../spec/schema.ts";
import { ReadoutExampleData, ReadoutTaskData, ReadoutTextData } from "./spec.ts";

/**
 * A readout document's `data` decoded against the form its key selects (task, texts or example):
 * the union would otherwise report every member's complaint, and the deepest of them names the
 * wrong form's fields.
 */
export const checkReadoutData = (
  file: string,
  doc: Readonly<Record<string, unknown>>,
  prefix = "",
): Effect.Effect<void, ExperimentFileError> => {
  const d = doc.data;
  if (typeof d !== "object" || d === null || Array.isArray(d)) return Effect.void;
  const form =
    "task" in d
      ? ReadoutTaskData
      : "texts" in d
        ? ReadoutTextData
        : "example" in d
          ? ReadoutExampleData
          : null;
  if (form === null) return Effect.void;
  return Effect.asVoid(decodeDocument(Schema.Struct({ data: form }), file, { data: d }, prefix));
};
