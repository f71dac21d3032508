// The foundation's promise: the ES-module-only SDKs load under the shared Jest preset.
// Each import below is an ES module package; if Jest fell back to CommonJS transforms these fail.
import { describe, expect, it } from '@jest/globals';

describe('ES module SDKs load under Jest', () => {
  it('@kubernetes/client-node exposes KubeConfig and the coordination API', async () => {
    const k8s = await import('@kubernetes/client-node');
    const kc = new k8s.KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'c', server: 'https://127.0.0.1:1', skipTLSVerify: true }],
      users: [{ name: 'u', token: 't' }],
      contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
      currentContext: 'x',
    });
    expect(kc.getCurrentCluster()?.server).toBe('https://127.0.0.1:1');
    expect(typeof kc.makeApiClient(k8s.CoordinationV1Api).readNamespacedLease).toBe('function');
  });

  it('@google-cloud/storage builds a client against an explicit endpoint (no metadata probe)', async () => {
    const { Storage } = await import('@google-cloud/storage');
    const storage = new Storage({ apiEndpoint: 'http://127.0.0.1:1', projectId: 'kuik-test' });
    expect(storage.bucket('b').file('k').name).toBe('k');
  });

  it('@azure/storage-blob builds a client from a shared key', async () => {
    const { BlobServiceClient, StorageSharedKeyCredential } = await import('@azure/storage-blob');
    const cred = new StorageSharedKeyCredential('devstoreaccount1', Buffer.from('key').toString('base64'));
    const svc = new BlobServiceClient('http://127.0.0.1:1/devstoreaccount1', cred);
    expect(svc.getContainerClient('c').containerName).toBe('c');
  });

  it('@aws-sdk/client-s3 and minio load too', async () => {
    const { S3Client } = await import('@aws-sdk/client-s3');
    const minio = await import('minio');
    expect(typeof S3Client).toBe('function');
    expect(typeof minio.Client).toBe('function');
  });
});
