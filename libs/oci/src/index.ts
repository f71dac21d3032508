export * from './digest.js';
export * from './errors.js';
export * from './media-types.js';
export * from './manifest.js';
export * from './reference.js';
export * from './server/index.js';
export * from './token-bucket.js';
