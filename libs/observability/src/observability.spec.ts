import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Counter } from 'prom-client';
import { createLogger, createMetricsRegistry, startOpsServer, type OpsServer } from './index.js';

describe('logger', () => {
  it('writes one JSON object per line with component, level and fields, filtered by level', () => {
    const lines: string[] = [];
    const log = createLogger({ component: 'test', level: 'info', sink: (l) => lines.push(l) });
    log.debug('hidden');
    log.child({ repo: 'a/b' }).warn('seen', { err: new Error('boom') });
    expect(lines).toHaveLength(1);
    const rec = JSON.parse(lines[0]!);
    expect(rec).toMatchObject({ level: 'warn', component: 'test', msg: 'seen', repo: 'a/b', err: { message: 'boom' } });
    expect(Date.parse(rec.time)).not.toBeNaN();
  });
});

describe('ops server', () => {
  let ops: OpsServer;
  let ready = true;
  beforeAll(async () => {
    const registry = createMetricsRegistry({ prefix: 'kuik_test_', version: '1.2.3', defaults: false });
    new Counter({ name: 'kuik_test_things_total', help: 'things', registers: [registry] }).inc(3);
    ops = await startOpsServer({
      host: '127.0.0.1',
      port: 0,
      registry,
      readiness: [{ name: 'storage', check: async () => (ready ? undefined : 'bucket missing') }],
      actions: [
        {
          path: '/poke',
          handle: async (method, query) => (method === 'POST' ? { status: 202, body: { poked: query.get('what') } } : { status: 200, body: { pokes: 0 } }),
        },
      ],
    });
  });
  afterAll(() => ops.close());
  const url = (p: string) => `http://127.0.0.1:${ops.address().port}${p}`;

  it('serves Prometheus metrics with build_info', async () => {
    const body = await (await fetch(url('/metrics'))).text();
    expect(body).toContain('kuik_test_things_total 3');
    expect(body).toMatch(/kuik_test_build_info\{version="1.2.3",node_version="[\d.]+"\} 1/);
  });

  it('answers /healthz and reflects readiness checks in /readyz', async () => {
    expect((await fetch(url('/healthz'))).status).toBe(200);
    expect((await fetch(url('/readyz'))).status).toBe(200);
    ready = false;
    const r = await fetch(url('/readyz'));
    expect(r.status).toBe(503);
    expect(await r.text()).toContain('storage: bucket missing');
    ready = true;
  });

  it('serves operator actions as JSON, with parameters in the query and no body', async () => {
    const posted = await fetch(url('/poke?what=it'), { method: 'POST' });
    expect(posted.status).toBe(202);
    expect(await posted.json()).toEqual({ poked: 'it' });
    expect(await (await fetch(url('/poke'))).json()).toEqual({ pokes: 0 });
    const withBody = await fetch(url('/poke'), { method: 'POST', body: 'what=it' });
    expect(withBody.status).toBe(413);
    expect(await withBody.text()).toContain('query string');
    expect((await fetch(url('/poke'), { method: 'DELETE' })).status).toBe(405);
  });

  it('rejects other methods and paths', async () => {
    expect((await fetch(url('/metrics'), { method: 'POST', body: 'x' })).status).toBe(405);
    expect((await fetch(url('/nope'))).status).toBe(404);
  });
});
