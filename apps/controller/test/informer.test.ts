// The informer against the real kube-apiserver: first list, watch events, and resumption after
// the server ends a watch (nothing missed). (410 Gone cannot be provoked on demand here — a young
// API server's watch cache still holds every event — so src/kube/informer.spec.ts covers it.)
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createLogger } from '@kuik/observability';
import { Informer, type InformerOptions } from '../src/kube/informer.js';
import { createNamespace, deleteNamespace, kube, waitFor } from './harness.js';

let ns = '';
const logs: string[] = [];

beforeAll(async () => {
  ns = await createNamespace('kuik-inf');
  for (const n of ['a', 'b']) await kube().create(`/api/v1/namespaces/${ns}/configmaps`, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: n }, data: { v: '0' } });
});
afterAll(async () => {
  await deleteNamespace(ns);
});

describe('Informer', () => {
  it('lists, follows events, and resumes after the server ends the watch', async () => {
    const opts: InformerOptions<string> = {
      name: 'configmaps',
      client: kube(),
      path: `/api/v1/namespaces/${ns}/configmaps`,
      fieldSelector: 'metadata.name!=kube-root-ca.crt',
      transform: (o) => (o['data'] as { v: string }).v,
      logger: createLogger({ component: 'test', level: 'debug', sink: (l) => void logs.push(l) }),
      watchTimeoutSeconds: 1,
    };
    const inf = new Informer(opts);
    const events: string[] = [];
    inf.addHandlers({
      onAdd: (k, v) => events.push(`add ${k}=${v}`),
      onUpdate: (k, o, v) => events.push(`update ${k} ${o}->${v}`),
      onDelete: (k) => events.push(`delete ${k}`),
    });
    const ac = new AbortController();
    const running = inf.run(ac.signal);
    await inf.waitForSync();
    expect(new Map(inf.entries())).toEqual(new Map([[`${ns}/a`, '0'], [`${ns}/b`, '0']]));

    await kube().mergePatch(`/api/v1/namespaces/${ns}/configmaps/a`, { data: { v: '1' } });
    await waitFor('update seen', 5000, () => inf.get(`${ns}/a`) === '1');
    await new Promise((r) => setTimeout(r, 2500)); // two server-side watch ends
    await kube().create(`/api/v1/namespaces/${ns}/configmaps`, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { v: '2' } });
    await waitFor('add after resumption', 5000, () => inf.get(`${ns}/c`) === '2');

    await kube().delete(`/api/v1/namespaces/${ns}/configmaps/b`);
    await waitFor('delete seen', 10_000, () => inf.get(`${ns}/b`) === undefined);
    await kube().mergePatch(`/api/v1/namespaces/${ns}/configmaps/c`, { data: { v: '3' } });
    await waitFor('events after the relist', 5000, () => inf.get(`${ns}/c`) === '3');
    ac.abort();
    await running;
    expect(events).toEqual(expect.arrayContaining([`add ${ns}/a=0`, `update ${ns}/a 0->1`, `add ${ns}/c=2`, `delete ${ns}/b`, `update ${ns}/c 2->3`]));
    expect(events.filter((e) => e === `delete ${ns}/b`)).toHaveLength(1);
  });
});
