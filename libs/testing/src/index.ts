export * from './servers.js';
export * from './processes.js';
