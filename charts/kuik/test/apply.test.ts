// Every rendering applied to the real kube-apiserver of the test servers, so that the API server
// itself validates every object (CRDs and webhook configuration included), plus helm install and
// upgrade between storage modes. The webhook is pointed at nothing (objectSelector that matches no
// pod) so that other suites sharing the API server are not slowed down by it.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import path from 'node:path';
import { chartDir, helm, kubeconfig, kubectl, run, valuesArgs } from './helm.js';

const inert = { controllers: { webhook: { objectSelector: { matchLabels: { 'kuik-chart-test': 'never-matches' } } } } };
const modes = ['tmpfs', 'pvc-rwo', 'pvc-rwx', 'minio', 's3', 's3-irsa', 'gcs', 'azure', 'original-v1'];
const suffix = Math.random().toString(36).slice(2, 7);

function k(...args: string[]) {
  const r = run(kubectl(), ['--kubeconfig', kubeconfig(), ...args]);
  if (r.status !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}
function h(...args: string[]) {
  const r = run(helm(), ['--kubeconfig', kubeconfig(), ...args]);
  if (r.status !== 0) throw new Error(`helm ${args.slice(0, 2).join(' ')}: ${r.stderr}`);
  return r.stdout;
}

beforeAll(() => {
  k('apply', '-f', path.join(chartDir, 'test/fixtures/third-party-crds.yaml'));
  k('wait', '--for=condition=Established', '--timeout=60s', 'crd/servicemonitors.monitoring.coreos.com', 'crd/issuers.cert-manager.io', 'crd/certificates.cert-manager.io');
}, 120_000);

describe('server-side validation of every storage mode', () => {
  it.each(modes)('%s renders objects the API server accepts (kubectl apply --dry-run=server)', (mode) => {
    const ns = `kuik-dry-${mode.replace(/[^a-z0-9-]/g, '')}-${suffix}`;
    k('create', 'namespace', ns);
    try {
      // CRDs first (as helm would), then everything else in the release namespace.
      const crds = run(helm(), ['template', 'kuik', chartDir, '--namespace', ns, '--include-crds', ...valuesArgs([mode + '.yaml', inert])]);
      expect(crds.status).toBe(0);
      k('apply', '--server-side', '-f', path.join(chartDir, 'crds'));
      const r = run(kubectl(), ['--kubeconfig', kubeconfig(), 'apply', '--dry-run=server', '-n', ns, '-f', '-'], crds.stdout);
      if (r.status !== 0) throw new Error(r.stderr);
      expect(r.stdout).toMatch(/mutatingwebhookconfiguration\.admissionregistration\.k8s\.io\/\S+ (created|configured) \(server dry run\)/);
      expect(r.stdout).toMatch(/(statefulset|deployment)\.apps\/\S+-registry (created|configured) \(server dry run\)/);
    } finally {
      k('delete', 'namespace', ns, '--wait=false');
    }
  }, 120_000);

  it('cert-manager TLS and ServiceMonitors are accepted too', () => {
    const ns = `kuik-dry-cm-${suffix}`;
    k('create', 'namespace', ns);
    try {
      const values = [
        inert,
        {
          controllers: { webhook: { useCertManager: true }, serviceMonitor: { create: true } },
          proxy: { serviceMonitor: { create: true } },
          registry: { serviceMonitor: { create: true }, pdb: { create: true } },
        },
      ];
      const out = run(helm(), ['template', 'kuik', chartDir, '--namespace', ns, ...valuesArgs(values)]);
      expect(out.status).toBe(0);
      const r = run(kubectl(), ['--kubeconfig', kubeconfig(), 'apply', '--dry-run=server', '-n', ns, '-f', '-'], out.stdout);
      if (r.status !== 0) throw new Error(r.stderr);
      expect(r.stdout).toContain('certificate.cert-manager.io/kuik-controller-webhook-tls created (server dry run)');
      expect(r.stdout.match(/servicemonitor\.monitoring\.coreos\.com/g)).toHaveLength(3);
    } finally {
      k('delete', 'namespace', ns, '--wait=false');
    }
  }, 120_000);
});

describe('helm install and upgrade against the API server', () => {
  const ns = `kuik-helm-${suffix}`;
  const release = `kuik-${suffix}`;
  afterAll(() => {
    run(helm(), ['--kubeconfig', kubeconfig(), 'uninstall', release, '-n', ns, '--wait=false']);
    run(kubectl(), ['--kubeconfig', kubeconfig(), 'delete', 'namespace', ns, '--wait=false']);
  });

  const registryKind = () => {
    const out = k('get', 'deployments,statefulsets', '-n', ns, '-l', 'app.kubernetes.io/component=registry', '-o', 'jsonpath={range .items[*]}{.kind}{"\\n"}{end}');
    return out.trim().split('\n').filter(Boolean);
  };

  it('installs the default (Tmpfs) mode, upgrades to MinIO and back', () => {
    h('install', release, chartDir, '--namespace', ns, '--create-namespace', ...valuesArgs(inert));
    expect(registryKind()).toEqual(['StatefulSet']);
    expect(k('get', 'crd', 'cachedimages.kuik.enix.io', '-o', 'name')).toContain('cachedimages.kuik.enix.io');

    h('upgrade', release, chartDir, '--namespace', ns, ...valuesArgs([inert, 'minio.yaml']));
    expect(registryKind()).toEqual(['Deployment']);
    expect(k('get', 'statefulset', '-n', ns, '-l', 'app.kubernetes.io/component=minio', '-o', 'name')).toMatch(/statefulset\.apps\/\S+-minio/);

    h('upgrade', release, chartDir, '--namespace', ns, ...valuesArgs(inert));
    expect(registryKind()).toEqual(['StatefulSet']);
    expect(k('get', 'statefulset', '-n', ns, '-l', 'app.kubernetes.io/component=minio', '-o', 'name').trim()).toBe('');
    expect(h('history', release, '-n', ns)).toMatch(/3\s+.*deployed/);
  }, 180_000);

  // Least privilege, asked of the API server's own authorizer for each component's ServiceAccount.
  it('grants each component what it uses and nothing more (kubectl auth can-i)', () => {
    const sa = (component: string) => {
      const name = k('get', 'serviceaccount', '-n', ns, '-l', `app.kubernetes.io/component=${component}`, '-o', 'jsonpath={.items[0].metadata.name}').trim();
      expect(name).not.toBe('');
      return `system:serviceaccount:${ns}:${name}`;
    };
    const can = (who: string, verb: string, resource: string, ...extra: string[]) =>
      run(kubectl(), ['--kubeconfig', kubeconfig(), 'auth', 'can-i', verb, resource, '--as', who, ...extra]).stdout.trim() === 'yes';
    const controller = sa('controller');
    const proxy = sa('proxy');
    const registry = sa('registry');
    const pullSecret = k('get', 'role', '-n', ns, '-l', 'app.kubernetes.io/component=proxy', '-o', 'jsonpath={.items[0].rules[0].resourceNames[0]}').trim();
    expect(pullSecret).toMatch(/-pull-secrets$/);

    // The controller: CRDs and their status, pods and workloads to read, node readiness labels,
    // its Lease and Secrets in its namespace, pull secrets elsewhere (read by name; the proxy-host
    // copies of pods' own pull secrets written, never listed or deleted), its webhook.
    expect(can(controller, 'create', 'cachedimages.kuik.enix.io')).toBe(true);
    expect(can(controller, 'patch', 'cachedimages.kuik.enix.io', '--subresource=status')).toBe(true);
    expect(can(controller, 'watch', 'pods', '--all-namespaces')).toBe(true);
    expect(can(controller, 'list', 'deployments.apps', '--all-namespaces')).toBe(true);
    expect(can(controller, 'list', 'cronjobs.batch', '--all-namespaces')).toBe(true);
    expect(can(controller, 'patch', 'nodes')).toBe(true);
    expect(can(controller, 'update', 'leases.coordination.k8s.io', '-n', ns)).toBe(true);
    expect(can(controller, 'create', 'secrets', '-n', ns)).toBe(true);
    expect(can(controller, 'get', 'secrets', '-n', 'default')).toBe(true);
    expect(can(controller, 'list', 'secrets', '-n', 'default')).toBe(false);
    expect(can(controller, 'create', 'secrets', '-n', 'default')).toBe(true);
    expect(can(controller, 'update', 'secrets', '-n', 'default')).toBe(true);
    expect(can(controller, 'delete', 'secrets', '-n', 'default')).toBe(false);
    expect(can(controller, 'watch', 'secrets', '-n', 'default')).toBe(false);
    expect(can(controller, 'delete', 'pods', '-n', 'default')).toBe(false);
    expect(can(controller, 'delete', 'nodes')).toBe(false);

    // The proxy: one Secret, by name; nothing cluster-wide.
    expect(can(proxy, 'get', `secrets/${pullSecret}`, '-n', ns)).toBe(true);
    expect(can(proxy, 'get', 'secrets/other', '-n', ns)).toBe(false);
    expect(can(proxy, 'list', 'secrets', '--all-namespaces')).toBe(false);
    expect(can(proxy, 'patch', 'nodes')).toBe(false);
    expect(can(proxy, 'list', 'pods', '--all-namespaces')).toBe(false);

    // The registry: no API access at all.
    expect(can(registry, 'get', 'secrets', '-n', ns)).toBe(false);
    expect(can(registry, 'list', 'pods', '-n', ns)).toBe(false);

    // Without pod pull-secret copies, Secrets outside its namespace are only read.
    h('upgrade', release, chartDir, '--namespace', ns, ...valuesArgs(inert), '--set', 'controllers.webhook.podPullSecrets=false');
    expect(can(controller, 'get', 'secrets', '-n', 'default')).toBe(true);
    expect(can(controller, 'create', 'secrets', '-n', 'default')).toBe(false);
    expect(can(controller, 'update', 'secrets', '-n', 'default')).toBe(false);
    expect(can(controller, 'create', 'secrets', '-n', ns)).toBe(true);
  }, 180_000);
});
