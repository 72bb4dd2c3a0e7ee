export {
  circuitCommand,
  circuitFlags,
  circuitUsage,
  discoveryFromFlags,
  methodFromFlags,
  printDiscovery,
} from "./circuit.ts";
