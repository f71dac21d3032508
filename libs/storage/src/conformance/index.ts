// Test-only entry point (@kuik/storage/conformance): it imports @jest/globals, which throws outside
// Jest, so it must never be reachable from the package's main entry.
export { describeDriverConformance } from './suite.js';
export type { ConformanceOptions } from './context.js';
export * from './content.js';
export { expectStorageError, expectAborted, openFds, RssSampler } from './probes.js';
