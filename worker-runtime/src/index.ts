/** @gatewire/worker: runs a fetch-style app as gatewire worker processes. */
export {};
