// Operations: metrics and health on the debug port, access logs, upload purging, graceful drain.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { pushBlob, random, uploadFiles } from './support/client.js';
import { startTestRegistry, type TestRegistry } from './support/harness.js';

describe('operations', () => {
  let t: TestRegistry;
  let ops: string;
  beforeAll(async () => {
    t = await startTestRegistry({ config: { storage: { maintenance: { uploadpurging: { enabled: false, age: '1h' } } } } });
    const a = t.registry.ops!.address();
    ops = `http://127.0.0.1:${a.port}`;
  });
  afterAll(() => t.close());

  it('exposes Prometheus metrics for requests, bytes and storage operations', async () => {
    const digest = await pushBlob(t.url, 'metrics', random(10_000));
    await fetch(`${t.url}/v2/metrics/blobs/${digest}`).then((r) => r.arrayBuffer());
    await fetch(`${t.url}/v2/metrics/blobs/${digest}x`);
    const text = await (await fetch(`${ops}/metrics`)).text();
    expect(text).toContain('kube_image_keeper_registry_http_requests_total{method="GET",route="blob",status="200"} 1');
    expect(text).toContain('kube_image_keeper_registry_http_requests_total{method="POST",route="uploads",status="201"} 1');
    expect(text).toContain('kube_image_keeper_registry_http_requests_total{method="GET",route="blob",status="400"} 1');
    expect(text).toMatch(/kube_image_keeper_registry_http_request_duration_seconds_count\{method="GET",route="blob"\} 2/);
    expect(text).toMatch(/kube_image_keeper_registry_http_received_bytes_total\{route="uploads"\} \d{5}/);
    expect(text).toMatch(/kube_image_keeper_registry_http_sent_bytes_total\{route="blob"\} \d{5}/);
    expect(text).toContain('kube_image_keeper_registry_build_info');
    expect(text).toMatch(/kube_image_keeper_registry_storage_operation_duration_seconds_count\{driver="inmemory",operation="putContent",outcome="ok"\} \d+/);
    expect(text).toMatch(/kube_image_keeper_registry_storage_bytes_total\{driver="inmemory",direction="write"\} \d{5}/);
  });

  it('answers /healthz and /readyz', async () => {
    expect((await fetch(`${ops}/healthz`)).status).toBe(200);
    expect((await fetch(`${ops}/readyz`)).status).toBe(200);
  });

  it('logs one JSON line per request without query strings', async () => {
    t.logs.length = 0;
    await fetch(`${t.url}/v2/logged/tags/list?n=1&last=secret-token`);
    const line = t.logs.find((l) => l['msg'] === 'request');
    expect(line).toEqual(
      expect.objectContaining({ method: 'GET', route: 'tags', repository: 'logged', status: 404, error: 'NAME_UNKNOWN', component: 'registry' }),
    );
    expect(typeof line!['durationMs']).toBe('number');
    expect(JSON.stringify(t.logs)).not.toContain('secret-token');
  });

  it('purges upload sessions older than the configured age', async () => {
    const start = await fetch(`${t.url}/v2/purge/blobs/uploads/`, { method: 'POST' });
    const location = start.headers.get('location')!;
    await fetch(`${t.url}${location}`, { method: 'PATCH', body: random(100) });
    expect(await t.registry.purger.runOnce(new Date())).toBe(0);
    expect(await t.registry.purger.runOnce(new Date(Date.now() + 2 * 3_600_000))).toBe(1);
    expect(await uploadFiles(t.driver)).toEqual([]);
    expect((await fetch(`${t.url}${location}`)).status).toBe(404);
  });
});

describe('graceful shutdown', () => {
  it('lets an in-flight upload finish and then refuses new connections', async () => {
    const t = await startTestRegistry();
    const content = random(200_000);
    const start = await fetch(`${t.url}/v2/drain/blobs/uploads/`, { method: 'POST' });
    const location = start.headers.get('location')!;
    // A body that arrives slowly, so the request is in flight when shutdown begins.
    let push!: (chunk: Uint8Array | null) => void;
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        push = (c) => (c ? controller.enqueue(c) : controller.close());
      },
    });
    push(content.subarray(0, 100_000));
    const inFlight = fetch(`${t.url}${location}`, { method: 'PATCH', body, duplex: 'half' } as RequestInit);
    await new Promise((r) => setTimeout(r, 100));
    const closing = t.close();
    await new Promise((r) => setTimeout(r, 100));
    push(content.subarray(100_000));
    push(null);
    const res = await inFlight;
    expect(res.status).toBe(202);
    expect(res.headers.get('range')).toBe('0-199999');
    await closing;
    await expect(fetch(`${t.url}/v2/`)).rejects.toThrow();
  });
});
