export * from './servers.js';
export * from './processes.js';
export * from './env.js';
export * from './loopback.js';
export * from './mock-ecr.js';
export * from './mock-gce-metadata.js';
export * from './mock-azure.js';
