export { circuitCommand, circuitFlags, circuitUsage, methodFromFlags, printDiscovery } from "./circuit.ts";
