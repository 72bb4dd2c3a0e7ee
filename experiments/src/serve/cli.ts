import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { type Flags, threadsFlag, UsageError } from "@patchbay/core/cli";
import { Effect } from "effect";
import { serve } from "./server.ts";

/** Open a URL in the desktop's browser, if there is one (xdg-open, open, start); say so if not. */
const openInBrowser = (url: string) => {
  const [cmd, args] =
    process.platform === "darwin"
      ? ["open", [url]]
      : process.platform === "win32"
        ? ["cmd", ["/c", "start", "", url]]
        : ["xdg-open", [url]];
  const child = spawn(cmd as string, args as string[], { stdio: "ignore", detached: true });
  child.on("error", () => console.error(`  (--open: could not start ${cmd}; open the URL yourself)`));
  child.unref();
};

/** `patchbay serve [RESULTS] [--port N] [--threads N] [--open]`: the live circuit explorer until Ctrl-C. */
export const serveCommand = (f: Flags) =>
  Effect.scoped(
    Effect.gen(function* () {
      const results = resolve(typeof f.results === "string" ? f.results : "results");
      if (!existsSync(results))
        return yield* new UsageError({
          message: `serve: no results folder at ${results} (patchbay run FILE writes one)`,
        });
      let port = 0;
      if (typeof f.port === "string") {
        port = Number(f.port);
        if (!Number.isInteger(port) || port < 0 || port > 65535)
          return yield* new UsageError({
            message: `serve: --port expects an integer from 0 to 65535, found ${JSON.stringify(f.port)}`,
          });
      }
      const threads = threadsFlag(f);
      const s = yield* serve({ results, port, threads });
      console.log(
        `patchbay explorer for ${results}\n  open ${s.url}\n  (127.0.0.1 only; the token in the URL is this session's key; Ctrl-C stops)`,
      );
      if (f.open === true) openInBrowser(s.url);
      yield* Effect.never;
    }),
  );
