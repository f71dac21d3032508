// Entry of the webhook's worker thread (bundled on its own as webhook-worker.js next to main.js):
// only the webhook server, the rewrite policy and the logger, so the thread neither parses nor
// keeps the controller's informers, reconcilers, Kubernetes and cloud clients.
import { isMainThread, workerData } from 'node:worker_threads';
import { isWebhookWorkerData, runWebhookWorker } from './webhook/worker.js';

if (isMainThread || !isWebhookWorkerData(workerData)) {
  throw new Error("webhook-worker.js is the controller's webhook thread: start main.js");
}
runWebhookWorker(workerData);
