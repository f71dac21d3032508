export * from './config.js';
export * from './read.js';
export * from './cli.js';
