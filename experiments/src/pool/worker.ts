// The pool's worker thread (started through boot.mjs, which registers tsx): runs the cell jobs
// the pool sends, one at a time, each with its own ORT sessions, and reports each outcome.
import { serve } from "./protocol.ts";
import "@patchbay/zoo"; // registers builtin:<name> model paths with core

serve();
