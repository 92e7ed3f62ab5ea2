/** The vitest entry of @gatewire/conformance: one test per check (STYLE #8). */
export { runWorkerContract } from './vitest-contract.js';
export type { WorkerContractOptions } from './vitest-contract.js';
