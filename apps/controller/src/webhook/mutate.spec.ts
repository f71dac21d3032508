// The webhook against recorded AdmissionReview requests (test/fixtures/*.review.json, recorded
// from the real API server by test/webhook.test.ts): for each, the exact JSON Patch expected.
import { describe, expect, it } from '@jest/globals';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { POLICIES, type FixtureExpectation } from '../../test/fixtures/policies.js';
import { admissionResponse, mutatePod, type AdmissionReview } from './mutate.js';

const dir = fileURLToPath(new URL('../../test/fixtures/', import.meta.url));
const names = readdirSync(dir)
  .filter((f) => f.endsWith('.review.json'))
  .map((f) => f.slice(0, -'.review.json'.length))
  .sort();

describe('mutatePod on recorded AdmissionReview requests', () => {
  it('has fixtures for every rule', () => {
    expect(names.length).toBeGreaterThanOrEqual(12);
  });

  it.each(names)('%s', (name) => {
    const review = JSON.parse(readFileSync(`${dir}${name}.review.json`, 'utf8')) as AdmissionReview;
    const expected = JSON.parse(readFileSync(`${dir}${name}.expected.json`, 'utf8')) as FixtureExpectation;
    const result = mutatePod(review.request!, POLICIES[expected.policy]);
    expect(result.patch).toEqual(expected.patch);

    const answer = admissionResponse(review.request!, result);
    expect(answer.response?.uid).toBe(review.request!.uid);
    expect(answer.response?.allowed).toBe(true);
    if (expected.patch.length === 0) expect(answer.response?.patch).toBeUndefined();
    else {
      expect(answer.response?.patchType).toBe('JSONPatch');
      expect(JSON.parse(Buffer.from(answer.response!.patch!, 'base64').toString())).toEqual(expected.patch);
    }
  });
});

describe('mutatePod edge cases', () => {
  const base = { uid: 'u', operation: 'CREATE' as const, namespace: 'ns' };
  it('leaves other operations alone', () => {
    expect(mutatePod({ ...base, operation: 'UPDATE', object: { spec: { containers: [{ name: 'a', image: 'nginx:1' }] } } }, POLICIES.a).patch).toEqual([]);
    expect(mutatePod({ ...base, operation: 'DELETE' }, POLICIES.a).patch).toEqual([]);
  });
  it('skips invalid references and images already pointing at the proxy', () => {
    const r = mutatePod(
      { ...base, object: { spec: { containers: [{ name: 'a', image: 'Not A Ref' }, { name: 'b', image: 'localhost:7439/docker.io/library/nginx:1' }] } } },
      POLICIES.a,
    );
    expect(r.patch).toEqual([]);
    expect(r.containers.map((c) => c.skipped)).toEqual(['invalid image reference', 'already rewritten']);
  });
  it('escapes annotation keys in JSON pointers', () => {
    const r = mutatePod(
      { ...base, object: { metadata: { annotations: {}, labels: {} }, spec: { containers: [{ name: 'a', image: 'nginx:1', imagePullPolicy: 'IfNotPresent' }] } } },
      POLICIES.b,
    );
    expect(r.patch).toContainEqual({ op: 'add', path: '/metadata/labels/kuik.enix.io~1managed', value: 'true' });
  });
});
