export { circuitCommand, discoveryFromFlags, methodFromFlags, printDiscovery } from "./circuit.ts";
export { CIRCUIT_METHODS, circuitChoices, circuitFlags, circuitSpec, circuitUsage } from "./table.ts";
