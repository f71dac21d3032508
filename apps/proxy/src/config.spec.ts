import { describe, expect, it } from '@jest/globals';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadProxyConfig } from './config.js';

const dir = mkdtempSync(path.join(tmpdir(), 'kuik-proxy-config-'));

describe('proxy configuration', () => {
  it('has defaults that match the DaemonSet', () => {
    const c = loadProxyConfig(undefined, {});
    expect(c.listen).toEqual({ host: '127.0.0.1', port: 7439 });
    expect(c.metricsAddr).toEqual({ host: '0.0.0.0', port: 8080 });
    expect(c.registry.url).toBe('http://127.0.0.1:5000');
    expect(c.defaultOrigin).toBe('docker.io');
    expect(c.tags.refreshIntervalMs).toBe(300_000);
    expect(c.limits.manifestMaxBytes).toBe(4 << 20);
  });

  it('layers a YAML file and PROXY_* variables', () => {
    const ca = path.join(dir, 'ca.pem');
    writeFileSync(ca, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
    const file = path.join(dir, 'proxy.yml');
    writeFileSync(file, `registry:\n  url: http://kuik-registry:5000\ninsecureRegistries: [Registry.Local:5000]\nrootCertificateAuthorities: [${ca}]\ntags:\n  refreshInterval: 1h\n`);
    const c = loadProxyConfig(file, {
      PROXY_LISTEN: '0.0.0.0:7439',
      PROXY_METRICSLISTEN: '',
      PROXY_TAGS_REVALIDATETIMEOUT: '1s',
      PROXY_CREDENTIALS_DOCKERCONFIG: '/etc/kuik/config.json',
      PROXY_ORIGINS_TIMEOUTS_CONNECT: '3s',
    });
    expect(c.listen.host).toBe('0.0.0.0');
    expect(c.metricsAddr).toBeNull();
    expect(c.registry.url).toBe('http://kuik-registry:5000');
    expect(c.insecureRegistries).toEqual(['registry.local:5000']);
    expect(c.rootCertificateAuthorities[0]!.file).toBe(ca);
    expect(c.tags).toEqual({ refreshIntervalMs: 3_600_000, revalidateTimeoutMs: 1000 });
    expect(c.credentials.dockerConfig).toBe('/etc/kuik/config.json');
    expect(c.origins.timeouts.connectMs).toBe(3000);
  });

  it('loads the configuration the Helm chart renders', () => {
    const file = path.join(dir, 'chart.yml');
    writeFileSync(
      file,
      [
        'listen: 127.0.0.1:7439',
        'metricsListen: 0.0.0.0:8080',
        'registry: {url: "http://kuik-registry.kuik.svc:5000"}',
        'log: {level: info}',
        'insecureRegistries: []',
        'kubernetes: {pullSecret: kuik-pull-secrets, namespace: kuik, qps: 5, burst: 10}',
      ].join('\n'),
    );
    const c = loadProxyConfig(file, {});
    expect(c.metricsAddr).toEqual({ host: '0.0.0.0', port: 8080 });
    expect(c.kubernetes).toEqual({ repositories: false, pullSecret: 'kuik-pull-secrets', namespace: 'kuik', kubeconfig: null });
  });

  it('reads Kubernetes credentials settings, off by default', () => {
    expect(loadProxyConfig(undefined, {}).kubernetes).toEqual({ repositories: false, pullSecret: null, namespace: null, kubeconfig: null });
    const c = loadProxyConfig(undefined, { PROXY_KUBERNETES_REPOSITORIES: 'true', PROXY_KUBERNETES_KUBECONFIG: '/etc/kube/config' });
    expect(c.kubernetes).toMatchObject({ repositories: true, kubeconfig: '/etc/kube/config' });
    expect(() => loadProxyConfig(undefined, { PROXY_KUBERNETES_REPOSITORIES: 'yes' })).toThrow(/config kubernetes\.repositories: must be true or false/);
    expect(() => loadProxyConfig(undefined, { PROXY_KUBERNETES_PULLSECRET: 'kuik-pull-secrets' })).toThrow(/config kubernetes\.namespace: is required/);
  });

  it('reads the ECR settings: on for ECR hosts by default, aliases with their region, by file or PROXY_* variables', () => {
    expect(loadProxyConfig(undefined, {}).credentials.ecr).toEqual({ enabled: true, registries: [], region: null, endpoint: null });
    const c = loadProxyConfig(undefined, {
      PROXY_CREDENTIALS_ECR_REGISTRIES: 'registry.internal.example,10.0.0.5:5000',
      PROXY_CREDENTIALS_ECR_REGION: 'eu-west-3',
      PROXY_CREDENTIALS_ECR_ENDPOINT: 'https://vpce-1.api.ecr.eu-west-3.vpce.amazonaws.com',
    });
    expect(c.credentials.ecr).toEqual({
      enabled: true,
      registries: ['registry.internal.example', '10.0.0.5:5000'],
      region: 'eu-west-3',
      endpoint: 'https://vpce-1.api.ecr.eu-west-3.vpce.amazonaws.com',
    });
    expect(loadProxyConfig(undefined, { PROXY_CREDENTIALS_ECR_ENABLED: 'false' }).credentials.ecr.enabled).toBe(false);
    expect(() => loadProxyConfig(undefined, { PROXY_CREDENTIALS_ECR_REGISTRIES: 'r.example' })).toThrow(/config credentials\.ecr\.region: is required with credentials\.ecr\.registries/);
    expect(() => loadProxyConfig(undefined, { PROXY_CREDENTIALS_ECR_REGION: 'paris' })).toThrow(/config credentials\.ecr\.region: must be an AWS region/);
    expect(() => loadProxyConfig(undefined, { PROXY_CREDENTIALS_ECR_ENDPOINT: 'nope' })).toThrow(/config credentials\.ecr\.endpoint: must be an http\(s\) URL/);
    expect(() => loadProxyConfig(undefined, { PROXY_CREDENTIALS_ECR_ROLE: 'x' })).toThrow(/config credentials\.ecr\.role: unknown key/);
  });

  it('reads the Google settings: off by default, aliases', () => {
    expect(loadProxyConfig(undefined, {}).credentials.google).toEqual({ enabled: false, registries: [] });
    expect(loadProxyConfig(undefined, { PROXY_CREDENTIALS_GOOGLE_ENABLED: 'true', PROXY_CREDENTIALS_GOOGLE_REGISTRIES: 'ar.internal.example' }).credentials.google).toEqual({
      enabled: true,
      registries: ['ar.internal.example'],
    });
    expect(() => loadProxyConfig(undefined, { PROXY_CREDENTIALS_GOOGLE_REGISTRIES: 'a b' })).toThrow(/config credentials\.google\.registries\[0\]/);
    expect(() => loadProxyConfig(undefined, { PROXY_CREDENTIALS_GOOGLE_PROJECT: 'p' })).toThrow(/config credentials\.google\.project: unknown key/);
  });

  it('reads the Azure settings: off by default, aliases, which identity', () => {
    expect(loadProxyConfig(undefined, {}).credentials.azure).toEqual({ enabled: false, registries: [], identity: 'auto', managedIdentityClientId: null });
    expect(loadProxyConfig(undefined, { PROXY_CREDENTIALS_AZURE_ENABLED: 'true', PROXY_CREDENTIALS_AZURE_REGISTRIES: 'acr.internal.example' }).credentials.azure).toEqual({
      enabled: true,
      registries: ['acr.internal.example'],
      identity: 'auto',
      managedIdentityClientId: null,
    });
    const kubelet = 'E5F6A7B8-0000-4000-8000-00000000000C';
    expect(loadProxyConfig(undefined, { PROXY_CREDENTIALS_AZURE_IDENTITY: 'managed', PROXY_CREDENTIALS_AZURE_MANAGEDIDENTITYCLIENTID: kubelet }).credentials.azure).toMatchObject({
      identity: 'managed',
      managedIdentityClientId: kubelet.toLowerCase(),
    });
    expect(() => loadProxyConfig(undefined, { PROXY_CREDENTIALS_AZURE_TENANT: 't' })).toThrow(/config credentials\.azure\.tenant: unknown key/);
    expect(() => loadProxyConfig(undefined, { PROXY_CREDENTIALS_AZURE_IDENTITY: 'imds' })).toThrow(/config credentials\.azure\.identity: must be one of auto, workload, managed, got "imds"/);
    expect(() => loadProxyConfig(undefined, { PROXY_CREDENTIALS_AZURE_MANAGEDIDENTITYCLIENTID: 'kubelet' })).toThrow(/credentials\.azure\.managedIdentityClientId: must be a client id/);
    expect(() => loadProxyConfig(undefined, { PROXY_CREDENTIALS_AZURE_IDENTITY: 'workload', PROXY_CREDENTIALS_AZURE_MANAGEDIDENTITYCLIENTID: kubelet })).toThrow(
      /credentials\.azure\.managedIdentityClientId: names a managed identity, which credentials\.azure\.identity "workload" never uses/,
    );
  });

  it('names the key of a bad value', () => {
    expect(() => loadProxyConfig(undefined, { PROXY_REGISTRY_URL: 'ftp://x' })).toThrow(/config registry\.url: must be an http\(s\) URL/);
    expect(() => loadProxyConfig(undefined, { PROXY_LISTEN: 'nope' })).toThrow(/config listen: must be host:port/);
    expect(() => loadProxyConfig(undefined, { PROXY_INSECUREREGISTRIES: 'bad/host' })).toThrow(/config insecureRegistries\[0\]/);
    expect(() => loadProxyConfig(undefined, { PROXY_TAGS_REFRESH: '1m' })).toThrow(/config tags\.refresh: unknown key/);
    expect(() => loadProxyConfig(undefined, { PROXY_ROOTCERTIFICATEAUTHORITIES: path.join(dir, 'missing.pem') })).toThrow(/rootCertificateAuthorities\[0\]: cannot read/);
    expect(() => loadProxyConfig(undefined, { PROXY_CACHE_INDEXCHILDREN: 'some' })).toThrow(/cache\.indexChildren: must be one of all, requested/);
  });
});
