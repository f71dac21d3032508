// GET /v2/<name>/tags/list?n=&last= — tags in lexical order, with a Link header to the next page.
import type { ResourceHandlers } from './context.js';
import { nextLink, parsePage, queryOf } from './http.js';

export const tagsHandlers: ResourceHandlers = {
  async GET(ctx) {
    const query = queryOf(ctx.req);
    // Without n every tag is listed (clients that do not paginate expect all); n is capped.
    const page = parsePage(query, query.has('n') ? ctx.options.maxPageEntries : undefined);
    const result = await ctx.backend.listTags(ctx.name, page, { signal: ctx.signal });
    if (result.more && result.items.length > 0) {
      ctx.res.setHeader('Link', nextLink(`${ctx.base}/v2/${ctx.name}/tags/list`, page.n ?? result.items.length, result.items.at(-1)!));
    }
    ctx.res.status(200).json({ name: ctx.name, tags: result.items });
  },
};
