// Every storage mode of the design document, rendered by the real helm, asserted object by object.
import { describe, expect, it } from '@jest/globals';
import { parse } from 'yaml';
import { find, template, templateError, type K8sObject } from './helm.js';

const registryWorkload = (objs: K8sObject[]) => {
  const w = objs.filter((o) => (o.kind === 'Deployment' || o.kind === 'StatefulSet') && o.metadata.name.endsWith('-registry'));
  expect(w).toHaveLength(1);
  return w[0]!;
};
const registryConfig = (objs: K8sObject[]) => parse(find(objs, 'ConfigMap', '-registry').data!['config.yml']!);
const registryEnv = (objs: K8sObject[]) => registryWorkload(objs).spec.template.spec.containers[0].env ?? [];
const volumes = (w: K8sObject) => w.spec.template.spec.volumes as { name: string; [k: string]: unknown }[];

describe('storage modes', () => {
  it('Tmpfs (default): StatefulSet, in-memory emptyDir, no claim, filesystem driver', () => {
    const objs = template('tmpfs.yaml');
    const w = registryWorkload(objs);
    expect(w.kind).toBe('StatefulSet');
    expect(w.spec.volumeClaimTemplates).toBeUndefined();
    expect(volumes(w).find((v) => v.name === 'data')).toMatchObject({ emptyDir: { medium: 'Memory' } });
    expect(objs.some((o) => o.kind === 'PersistentVolumeClaim')).toBe(false);
    expect(registryConfig(objs).storage).toMatchObject({ filesystem: { rootdirectory: '/var/lib/registry' } });
    expect(registryConfig(objs).garbagecollection).toMatchObject({ enabled: false });
  });

  it('garbage collection: weekly, keeping untagged manifests, paced at 100 ops/s by default in the persistent modes, as configured', () => {
    expect(registryConfig(template('pvc-rwo.yaml')).garbagecollection).toEqual({ enabled: true, schedule: '0 0 * * 0', deleteuntagged: false, ratelimit: 100 });
    const custom = template(['minio.yaml', { registry: { garbageCollection: { schedule: '30 2 * * *', deleteUntagged: true, rateLimit: 0 } } }]);
    expect(registryConfig(custom).garbagecollection).toEqual({ enabled: true, schedule: '30 2 * * *', deleteuntagged: true, ratelimit: 0 });
  });

  it('PVC RWO: StatefulSet with a volume claim template (size, storageClass)', () => {
    const w = registryWorkload(template('pvc-rwo.yaml'));
    expect(w.kind).toBe('StatefulSet');
    expect(w.spec.volumeClaimTemplates[0].spec).toEqual({
      accessModes: ['ReadWriteOnce'],
      storageClassName: 'standard',
      resources: { requests: { storage: '50Gi' } },
    });
    expect(volumes(w).some((v) => v.name === 'data')).toBe(false);
  });

  it('PVC RWX: Deployment sharing one ReadWriteMany claim, several replicas allowed', () => {
    const objs = template('pvc-rwx.yaml');
    const w = registryWorkload(objs);
    expect(w.kind).toBe('Deployment');
    expect(w.spec.replicas).toBe(3);
    const pvc = find(objs, 'PersistentVolumeClaim', '-registry');
    expect(pvc.spec.accessModes).toEqual(['ReadWriteMany']);
    expect(volumes(w).find((v) => v.name === 'data')).toEqual({ name: 'data', persistentVolumeClaim: { claimName: pvc.metadata.name } });
  });

  it('MinIO: subchart deployed, registry wired to it with the root credentials, bucket created, Deployment', () => {
    const objs = template('minio.yaml');
    const w = registryWorkload(objs);
    expect(w.kind).toBe('Deployment');
    const minio = find(objs, 'StatefulSet', '-minio');
    const minioSvc = find(objs, 'Service', '-minio');
    expect(minio.spec.template.spec.containers[0].image).toMatch(/^quay\.io\/minio\/minio:/);
    expect(minio.spec.volumeClaimTemplates[0].spec).toMatchObject({ storageClassName: 'storage-class-name', resources: { requests: { storage: '10Gi' } } });
    expect(registryConfig(objs).storage.s3).toMatchObject({
      regionendpoint: `http://${minioSvc.metadata.name}:9000`,
      bucket: 'registry',
      createbucket: true,
      forcepathstyle: true,
    });
    expect(registryEnv(objs)).toEqual([
      { name: 'REGISTRY_STORAGE_S3_ACCESSKEY', valueFrom: { secretKeyRef: { name: 'minio-root-auth', key: 'root-user' } } },
      { name: 'REGISTRY_STORAGE_S3_SECRETKEY', valueFrom: { secretKeyRef: { name: 'minio-root-auth', key: 'root-password' } } },
    ]);
  });

  it('S3: driver parameters passed through, keys from s3ExistingSecret, Deployment, redirects on', () => {
    const objs = template('s3.yaml');
    expect(registryWorkload(objs).kind).toBe('Deployment');
    const cfg = registryConfig(objs);
    expect(cfg.storage.s3).toEqual({ region: 'us-east-1', regionendpoint: 'http://minio:9000', bucket: 'registry' });
    expect(cfg.storage.redirect).toEqual({ disable: false });
    expect(registryEnv(objs).map((e: { valueFrom: { secretKeyRef: unknown } }) => e.valueFrom.secretKeyRef)).toEqual([
      { name: 'secret-name', key: 'accessKey' },
      { name: 'secret-name', key: 'secretKey' },
    ]);
  });

  it('S3 without a secret uses the default AWS credential chain (IRSA), and disableS3Redirections', () => {
    const objs = template('s3-irsa.yaml');
    expect(registryEnv(objs)).toEqual([]);
    expect(registryConfig(objs).storage.redirect).toEqual({ disable: true });
  });

  it('GCS: credentials.json mounted as a file and given as keyfile, Deployment', () => {
    const objs = template('gcs.yaml');
    const w = registryWorkload(objs);
    expect(w.kind).toBe('Deployment');
    expect(registryConfig(objs).storage.gcs).toEqual({ bucket: 'registry', keyfile: '/etc/kuik/gcs/credentials.json' });
    expect(volumes(w).find((v) => v.name === 'gcs-credentials')).toEqual({
      name: 'gcs-credentials',
      secret: { secretName: 'secret-name', items: [{ key: 'credentials.json', path: 'credentials.json' }] },
    });
  });

  it('Azure: accountname/accountkey from azureExistingSecret, Deployment', () => {
    const objs = template('azure.yaml');
    expect(registryWorkload(objs).kind).toBe('Deployment');
    expect(registryConfig(objs).storage.azure).toEqual({ container: 'registry' });
    expect(registryEnv(objs).map((e: { name: string; valueFrom: { secretKeyRef: { key: string } } }) => [e.name, e.valueFrom.secretKeyRef.key])).toEqual([
      ['REGISTRY_STORAGE_AZURE_ACCOUNTNAME', 'accountname'],
      ['REGISTRY_STORAGE_AZURE_ACCOUNTKEY', 'accountkey'],
    ]);
  });
});

describe('guards', () => {
  it('refuses several registry replicas on a storage mode that cannot share data', () => {
    expect(templateError({ registry: { replicas: 2 } })).toContain('registry.replicas=2 needs an HA-compatible storage mode, but the mode is tmpfs');
    expect(templateError({ registry: { replicas: 3, persistence: { enabled: true } } })).toContain('the mode is pvc-rwo');
  });
  it('refuses more than one storage backend', () => {
    expect(templateError(['s3.yaml', 'gcs.yaml'])).toContain('more than one registry storage backend is configured (registry.persistence.s3, registry.persistence.gcs)');
    expect(templateError(['minio.yaml', 'azure.yaml'])).toContain('(minio.enabled, registry.persistence.azure)');
  });
  it('refuses an S3 bucket written with s3://', () => {
    expect(templateError({ registry: { persistence: { s3: { region: 'us-east-1', bucket: 's3://mybucket' } } } })).toContain(
      'registry.persistence.s3.bucket must be the bucket name without the s3:// prefix (got "s3://mybucket"; write "mybucket")',
    );
  });
  it('refuses a missing required secret name', () => {
    expect(templateError({ minio: { enabled: true } })).toContain('minio.auth.existingSecret is required when minio.enabled=true');
    expect(templateError({ registry: { persistence: { azure: { container: 'c' } } } })).toContain('registry.persistence.azureExistingSecret is required');
  });
  it('rejects typos and wrong types through values.schema.json', () => {
    expect(templateError({ registry: { persistance: { enabled: true } } })).toMatch(/additional properties 'persistance' not allowed|persistance/);
    expect(templateError({ registry: { replicas: 'two' } })).toMatch(/replicas/);
    expect(templateError({ proxy: { hostPort: 70000 } })).toMatch(/hostPort/);
  });
});

describe('components', () => {
  const objs = template({});
  it('controller: 2 replicas, PDB, webhook with failure policy Ignore on pod create and ephemeral containers', () => {
    expect(find(objs, 'Deployment', '-controller').spec.replicas).toBe(2);
    expect(find(objs, 'PodDisruptionBudget', '-controller').spec.minAvailable).toBe(1);
    const hook = objs.find((o) => o.kind === 'MutatingWebhookConfiguration')!.webhooks![0];
    expect(hook.failurePolicy).toBe('Ignore');
    expect(hook.rules.map((r: { resources: string[]; operations: string[] }) => [r.resources[0], r.operations[0]])).toEqual([
      ['pods', 'CREATE'],
      ['pods/ephemeralcontainers', 'UPDATE'],
    ]);
    expect(hook.namespaceSelector.matchExpressions[0].values).toEqual(['kube-system', 'kuik-system']);
  });
  it('proxy: DaemonSet on hostPort 7439 bound to 127.0.0.1, system-node-critical, tolerating every taint', () => {
    const ds = find(objs, 'DaemonSet', '-proxy');
    const pod = ds.spec.template.spec;
    expect(pod.priorityClassName).toBe('system-node-critical');
    expect(pod.tolerations).toEqual([{ operator: 'Exists' }]);
    expect(pod.containers[0].ports[0]).toMatchObject({ containerPort: 7439, hostPort: 7439, hostIP: '127.0.0.1' });
  });
  it('proxy: hostNetwork is a first-class option (binds the host address itself, no hostPort)', () => {
    const ds = find(template({ proxy: { hostNetwork: true } }), 'DaemonSet', '-proxy');
    expect(ds.spec.template.spec.hostNetwork).toBe(true);
    expect(ds.spec.template.spec.containers[0].ports[0]).toEqual({ name: 'http', containerPort: 7439 });
  });
  it('proxy: no cluster-wide Secret access (one Secret, by name)', () => {
    const roles = objs.filter((o) => (o.kind === 'Role' || o.kind === 'ClusterRole') && o.metadata.name.endsWith('-proxy'));
    for (const r of roles as unknown as { kind: string; rules: { resources: string[]; resourceNames?: string[] }[] }[]) {
      for (const rule of r.rules.filter((x) => x.resources.includes('secrets'))) {
        expect(r.kind).toBe('Role');
        expect(rule.resourceNames).toHaveLength(1);
      }
    }
  });
  it('workload identity: serviceAccount.annotations on every ServiceAccount, each component’s own winning', () => {
    const sa = (objs: K8sObject[], c: string) => find(objs, 'ServiceAccount', `-${c}`).metadata.annotations;
    const plain = template();
    for (const c of ['controller', 'proxy', 'registry']) expect(sa(plain, c)).toBeUndefined();
    const objs = template({
      serviceAccount: { annotations: { 'eks.amazonaws.com/role-arn': 'arn:aws:iam::123456789012:role/kuik' } },
      proxy: { serviceAccount: { annotations: { 'eks.amazonaws.com/role-arn': 'arn:aws:iam::123456789012:role/kuik-proxy' } } },
      registry: { serviceAccount: { annotations: { 'iam.gke.io/gcp-service-account': 'kuik@p.iam.gserviceaccount.com' } } },
    });
    expect(sa(objs, 'controller')).toEqual({ 'eks.amazonaws.com/role-arn': 'arn:aws:iam::123456789012:role/kuik' });
    expect(sa(objs, 'proxy')).toEqual({ 'eks.amazonaws.com/role-arn': 'arn:aws:iam::123456789012:role/kuik-proxy' });
    expect(sa(objs, 'registry')).toEqual({ 'eks.amazonaws.com/role-arn': 'arn:aws:iam::123456789012:role/kuik', 'iam.gke.io/gcp-service-account': 'kuik@p.iam.gserviceaccount.com' });
  });

  it('ECR: on by default for the controller and the proxy, aliases with their region; bad values refused by the schema', () => {
    const ecrOf = (objs: K8sObject[], c: string) => parse(find(objs, 'ConfigMap', `-${c}`).data!['config.yml']!).credentials.ecr;
    const off = { enabled: true, registries: [], region: '', endpoint: '' };
    expect([ecrOf(template(), 'controller'), ecrOf(template(), 'proxy')]).toEqual([off, off]);
    const objs = template({ ecr: { enabled: false, registries: ['ecr.internal.example'], region: 'eu-west-3', endpoint: 'https://vpce.example' } });
    const want = { enabled: false, registries: ['ecr.internal.example'], region: 'eu-west-3', endpoint: 'https://vpce.example' };
    expect([ecrOf(objs, 'controller'), ecrOf(objs, 'proxy')]).toEqual([want, want]);
    expect(templateError({ ecr: { region: 'Paris' } })).toContain('/ecr/region');
    expect(templateError({ ecr: { roleArn: 'x' } })).toMatch(/ecr.*roleArn|roleArn.*not allowed|additional/i);
  });

  it('Google: off by default for the controller and the proxy, on with aliases', () => {
    const googleOf = (objs: K8sObject[], c: string) => parse(find(objs, 'ConfigMap', `-${c}`).data!['config.yml']!).credentials.google;
    expect([googleOf(template(), 'controller'), googleOf(template(), 'proxy')]).toEqual([
      { enabled: false, registries: [] },
      { enabled: false, registries: [] },
    ]);
    const objs = template({ google: { enabled: true, registries: ['ar.internal.example'] } });
    expect([googleOf(objs, 'controller'), googleOf(objs, 'proxy')]).toEqual([
      { enabled: true, registries: ['ar.internal.example'] },
      { enabled: true, registries: ['ar.internal.example'] },
    ]);
    expect(templateError({ google: { enabled: 3 } })).toContain('/google/enabled');
  });

  it('Azure: off by default for the controller and the proxy, on with aliases; identity auto by default, a managed identity by client id', () => {
    const azureOf = (objs: K8sObject[], c: string) => parse(find(objs, 'ConfigMap', `-${c}`).data!['config.yml']!).credentials.azure;
    expect([azureOf(template(), 'controller'), azureOf(template(), 'proxy')]).toEqual([
      { enabled: false, registries: [], identity: 'auto' },
      { enabled: false, registries: [], identity: 'auto' },
    ]);
    const objs = template({ azure: { enabled: true, registries: ['acr.internal.example'] } });
    expect([azureOf(objs, 'controller'), azureOf(objs, 'proxy')]).toEqual([
      { enabled: true, registries: ['acr.internal.example'], identity: 'auto' },
      { enabled: true, registries: ['acr.internal.example'], identity: 'auto' },
    ]);
    const kubelet = 'a1b2c3d4-0000-4000-8000-00000000000A';
    const managed = template({ azure: { enabled: true, identity: 'managed', managedIdentityClientId: kubelet } });
    const want = { enabled: true, registries: [], identity: 'managed', managedIdentityClientId: kubelet };
    expect([azureOf(managed, 'controller'), azureOf(managed, 'proxy')]).toEqual([want, want]);
    expect(azureOf(template({ azure: { identity: 'workload', managedIdentityClientId: '' } }), 'proxy')).toEqual({ enabled: false, registries: [], identity: 'workload' });
    expect(templateError({ azure: { tenant: 'x' } })).toMatch(/azure|tenant/);
    expect(templateError({ azure: { identity: 'imds' } })).toContain('/azure/identity');
    expect(templateError({ azure: { managedIdentityClientId: 'kubelet' } })).toContain('/azure/managedIdentityClientId');
    expect(templateError({ azure: { managedIdentityClientId: 'a1b2c3d4-0000-4000-8000-00000000000' } })).toContain('/azure/managedIdentityClientId');
    expect(templateError({ azure: { identity: 'workload', managedIdentityClientId: kubelet } })).toContain('azure.managedIdentityClientId');
  });

  it('every pod is non-root with a read-only root filesystem, no capabilities, requests and probes', () => {
    const pods = objs.filter((o) => ['Deployment', 'StatefulSet', 'DaemonSet'].includes(o.kind)).map((o) => [o.metadata.name, o.spec.template.spec]);
    expect(pods.length).toBeGreaterThanOrEqual(3);
    for (const [, pod] of pods) {
      expect(pod.securityContext.runAsNonRoot).toBe(true);
      for (const c of pod.containers) {
        expect(c.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
        expect(c.resources.requests).toBeDefined();
        expect(c.readinessProbe.httpGet.path).toBe('/readyz');
        expect(c.livenessProbe.httpGet.path).toBe('/healthz');
      }
    }
  });
  it('image tags default to each app version', async () => {
    const { readFileSync } = await import('node:fs');
    const version = (app: string) => JSON.parse(readFileSync(new URL(`../../../apps/${app}/package.json`, import.meta.url), 'utf8')).version;
    expect(find(objs, 'Deployment', '-controller').spec.template.spec.containers[0].image).toBe(`ghcr.io/kuik/kuik-controller:${version('controller')}`);
    expect(find(objs, 'DaemonSet', '-proxy').spec.template.spec.containers[0].image).toBe(`ghcr.io/kuik/kuik-proxy:${version('proxy')}`);
    expect(registryWorkload(objs).spec.template.spec.containers[0].image).toBe(`ghcr.io/kuik/kuik-registry:${version('registry')}`);
  });
  it('a values file written for the original chart renders unchanged', () => {
    const o = template('original-v1.yaml');
    expect(registryWorkload(o).kind).toBe('StatefulSet');
    expect(parse(find(o, 'ConfigMap', '-controller').data!['config.yml']!)).toMatchObject({
      cachedImagesExpiryDelay: '360h', // 15 days
      maxConcurrentCachedImageReconciles: 5,
      cacheFill: { architectures: ['amd64', 'arm64'] },
      registry: { insecureRegistries: ['registry.local:5000'] },
    });
  });
});
