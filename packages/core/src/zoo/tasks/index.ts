/**
 * Task files (JSONL clean/corrupted pairs; see ./FORMAT.md) and the builtins' task generators.
 */
export {
  formatTaskFile,
  parseTaskFile,
  type ReadTaskOptions,
  readTaskFile,
  readTaskFileSync,
  TaskLine,
  writeTaskFile,
  writeTaskFileSync,
} from "./format.ts";
export { builtinsWithTasks, type TaskForOptions, taskFor, writeBuiltinTask } from "./generate.ts";
