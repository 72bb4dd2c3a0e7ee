/**
 * patchbay — the one package to install. It registers the model zoo (so `builtin:` paths work)
 * and re-exports the Effect API of the scoped packages; the Promise API sits beside it.
 */
import "@patchbay/zoo"; // registers builtin:<name> model paths with core

export { openModel } from "@patchbay/core/runtime";
