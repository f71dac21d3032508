// The OCI distribution client: pull, push and copy against registries, with authentication,
// TLS, timeouts and redirects handled underneath.
export * from './auth.js';
export { abandon, discard, readBounded } from './body.js';
export * from './challenge.js';
export * from './copy.js';
export * from './credentials.js';
export * from './docker-config.js';
// The workload's cloud identity as registry credentials.
export * from './cloud-token.js';
export * from './cloud-config.js';
export * from './azure.js';
export * from './ecr.js';
export * from './gcp.js';
export * from './errors.js';
export * from './hosts.js';
export * from './paths.js';
export * from './registry-client.js';
export * from './transport.js';
export * from './uploads.js';
