// 410 Gone handling. The real kube-apiserver cannot be made to answer 410 on demand (a young
// server's watch cache still holds every event), so this spec serves the list/watch protocol
// from a tiny local endpoint: list → watch that reports 410 → the informer must list again and
// deliver what changed meanwhile (including deletions it never saw as events).
import { describe, expect, it } from '@jest/globals';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { silentLogger } from '@kuik/observability';
import { KubeClient } from './client.js';
import { Informer } from './informer.js';

const cm = (name: string, rv: string) => ({ metadata: { name, namespace: 'ns', resourceVersion: rv }, data: { v: rv } });

describe('Informer after 410 Gone', () => {
  it('lists again and delivers the difference', async () => {
    let lists = 0;
    const watchRvs: string[] = [];
    const server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      if (url.searchParams.get('watch')) {
        watchRvs.push(url.searchParams.get('resourceVersion') ?? '');
        res.writeHead(200, { 'Content-Type': 'application/json' });
        if (watchRvs.length === 1) {
          res.end(JSON.stringify({ type: 'ERROR', object: { kind: 'Status', code: 410, reason: 'Expired', message: 'too old resource version' } }) + '\n');
        } else {
          res.write(JSON.stringify({ type: 'ADDED', object: cm('d', '30') }) + '\n');
          // keep the stream open until the client goes away
        }
        return;
      }
      lists++;
      const items = lists === 1 ? [cm('a', '1'), cm('b', '2')] : [cm('a', '5'), cm('c', '6')];
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ metadata: { resourceVersion: lists === 1 ? '2' : '20' }, items }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const kc = new KubeConfig();
    kc.loadFromOptions({
      // client-node refuses plain HTTP unless TLS verification is off.
      clusters: [{ name: 'c', server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, skipTLSVerify: true }],
      users: [{ name: 'u' }],
      contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
      currentContext: 'x',
    });
    const inf = new Informer<string>({ name: 'cm', client: new KubeClient(kc), path: '/api/v1/configmaps', transform: (o) => (o['data'] as { v: string }).v, logger: silentLogger });
    const events: string[] = [];
    inf.addHandlers({ onAdd: (k, v) => events.push(`add ${k}=${v}`), onUpdate: (k, o, v) => events.push(`update ${k} ${o}->${v}`), onDelete: (k) => events.push(`delete ${k}`) });
    const ac = new AbortController();
    const running = inf.run(ac.signal);
    for (let i = 0; i < 100 && inf.get('ns/d') === undefined; i++) await new Promise((r) => setTimeout(r, 20));
    ac.abort();
    await running;
    server.closeAllConnections();
    server.close();
    expect(lists).toBe(2);
    expect(watchRvs).toEqual(['2', '20']);
    expect(events).toEqual(['add ns/a=1', 'add ns/b=2', 'delete ns/b', 'update ns/a 1->5', 'add ns/c=6', 'add ns/d=30']);
  });
});
