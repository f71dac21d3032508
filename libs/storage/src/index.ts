export * from './types.js';
export * from './errors.js';
export * from './paths.js';
export * from './base.js';
export * from './factory.js';
// Registers the built-in drivers, so createDriver(name) works for anyone importing the package.
import './drivers/index.js';
