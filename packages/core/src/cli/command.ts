import type { Effect } from "effect";

/**
 * A command of the CLI as data: its flags, its usage, the allowed values of its choice flags, and a
 * loader for what it runs. Everything but `load` is plain data, so `--help` prints from the table
 * without importing an implementation (and with it the engine, ORT or a queue client).
 */

export type FlagKind = "string" | "boolean";
export type FlagSpec = Readonly<Record<string, FlagKind>>;
export type Flags = Record<string, string | boolean | undefined>;

/** What a command runs, once its flags have parsed. */
export type CommandRun = (f: Flags) => Effect.Effect<void, unknown>;

/** A flag that takes one of a list of values: the list is the code's own (never a copy). */
export interface Choice {
  readonly values: readonly string[];
  /** the value taken when the flag is absent */
  readonly default?: string;
  /** what the flag chooses, a few words for the per-command help */
  readonly about?: string;
}

export interface CommandSpec {
  readonly flags: FlagSpec;
  /** one line: the command and its flags, without `patchbay` */
  readonly usage: string;
  /** the choice flags; a value outside a list is a usage error naming the flag and the whole list */
  readonly choices?: Readonly<Record<string, Choice>>;
  /** more lines for the command's --help (what a file it reads may choose) */
  readonly help?: string;
  /** the flag a bare word fills (`validate FILE` is `validate --file FILE`) */
  readonly positional?: string;
  /** imports the implementation: called only when the command runs, never for --help */
  readonly load: () => Promise<CommandRun>;
}

export type CommandTable = Readonly<Record<string, CommandSpec>>;

/** The typed errors of the packages a command table adds, printed like patchbay's own (exit 1). */
export type TypedErrorGuard = (e: unknown) => e is { readonly _tag: string; readonly message: string };

export interface CliOptions {
  /** printed by `--version` */
  readonly version?: string;
  /** lines after the commands in the CLI's usage (flags every command shares) */
  readonly notes?: readonly string[];
  /** Imported before a command runs (never for help): registrations it relies on (the zoo's `builtin:` paths). */
  readonly prepare?: () => Promise<unknown>;
  /**
   * The guard of the table's own typed errors (besides patchbay's), imported only when a command
   * failed with an error that is not patchbay's: printed as `<tag>: <message>`, exit 1.
   */
  readonly typedErrors?: () => Promise<TypedErrorGuard>;
}
