// GET /v2/_catalog?n=&last= — repository names in lexical order, paginated with a Link header.
import { OciError } from '../errors.js';
import type { ResourceHandlers } from './context.js';
import { nextLink, parsePage, queryOf } from './http.js';

export const catalogHandlers: ResourceHandlers = {
  async GET(ctx) {
    if (!ctx.backend.listRepositories) throw new OciError('UNSUPPORTED', 'the catalog is not available');
    const page = parsePage(queryOf(ctx.req), ctx.options.maxPageEntries);
    const result = await ctx.backend.listRepositories(page, { signal: ctx.signal });
    if (result.more && result.items.length > 0) {
      ctx.res.setHeader('Link', nextLink(`${ctx.base}/v2/_catalog`, page.n ?? result.items.length, result.items.at(-1)!));
    }
    ctx.res.status(200).json({ repositories: result.items });
  },
};
