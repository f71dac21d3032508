export * from './config.js';
export * from './read.js';
