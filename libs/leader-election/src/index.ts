export * from './types.js';
export * from './elector.js';
export { KubeLeaseClient, KubeLeaseApiError, toMicroTime, type KubeLeaseClientOptions } from './kube-lease-client.js';
export { kubeConfigRequester, type KubeHttpRequest, type KubeHttpResponse, type KubeRequester } from './kube-requester.js';
