// GET /v2/ — the API version check every client starts with.
import type { ResourceHandlers } from './context.js';

export const baseHandlers: ResourceHandlers = {
  async GET({ res }) {
    res.status(200).type('application/json').end('{}');
  },
  async HEAD({ res }) {
    res.status(200).type('application/json').setHeader('Content-Length', '2');
    res.end();
  },
};
