import { describe, expect, it } from '@jest/globals';
import { proxyReadyAffinityPatch, PROXY_READY_REQUIREMENT as P } from './affinity.js';

const R = '/spec/affinity/nodeAffinity/requiredDuringSchedulingIgnoredDuringExecution';

describe('proxyReadyAffinityPatch', () => {
  it('creates the affinity when the pod has none', () => {
    expect(proxyReadyAffinityPatch({})).toEqual([
      { op: 'add', path: '/spec/affinity', value: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [P] }] } } } },
    ]);
    expect(proxyReadyAffinityPatch({ affinity: { podAntiAffinity: {} } })[0]!.path).toBe('/spec/affinity/nodeAffinity');
    expect(proxyReadyAffinityPatch({ affinity: { nodeAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [] } } })[0]!.path).toBe(R);
  });

  it('ANDs the requirement into every term (terms are ORed), keeps empty terms matching nothing', () => {
    const spec = {
      affinity: {
        nodeAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: {
            nodeSelectorTerms: [
              { matchExpressions: [{ key: 'zone', operator: 'In', values: ['a'] }] },
              { matchFields: [{ key: 'metadata.name', operator: 'In', values: ['n1'] }] },
              {},
              { matchExpressions: [P] },
            ],
          },
        },
      },
    };
    expect(proxyReadyAffinityPatch(spec)).toEqual([
      { op: 'add', path: `${R}/nodeSelectorTerms/0/matchExpressions/-`, value: P },
      { op: 'add', path: `${R}/nodeSelectorTerms/1/matchExpressions`, value: [P] },
    ]);
  });
});
