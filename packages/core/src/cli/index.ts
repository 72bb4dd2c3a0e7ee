export * from "./table.ts";
export {
  checkChoices,
  choice,
  intFlag,
  numberFlag,
  openOptions,
  parseFlags,
  required,
  threadsFlag,
  UsageError,
} from "./args.ts";
