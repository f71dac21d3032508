export * from './backend.js';
export * from './context.js';
export * from './router.js';
export * from './routes.js';
export { parseRange, parseContentRange, uploadRangeHeader, accepts } from './http.js';
export { BODY_BYTES_LOCAL, RequestBody } from './body.js';
