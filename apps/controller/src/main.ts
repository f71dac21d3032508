// kuik controller: admission webhook (every replica) + reconcilers (leader). Configuration:
// see config.ts and apps/controller/README.md.
import { existsSync } from 'node:fs';
import { isMainThread, workerData } from 'node:worker_threads';
import { KubeConfig } from '@kubernetes/client-node';
import { ConfigError, parseServerArgs, serverUsage } from '@kuik/config';
import { createLogger, onShutdown } from '@kuik/observability';
import { loadControllerConfig, type ControllerConfig } from './config.js';
import { Controller } from './controller.js';
import { createImageRegistries } from './registry/oci-registries.js';
import { isWebhookWorkerData, runWebhookWorker } from './webhook/worker.js';

const VERSION = process.env['KUIK_BUILD_VERSION'] ?? '0.0.0-dev';

function loadKubeConfig(config: ControllerConfig): KubeConfig {
  const kc = new KubeConfig();
  if (config.kubeApi.kubeconfig) kc.loadFromFile(config.kubeApi.kubeconfig);
  else kc.loadFromDefault(); // KUBECONFIG, ~/.kube/config, or the in-cluster service account
  return kc;
}

const CLI = { name: 'controller' } as const;

async function main(): Promise<void> {
  let config: ControllerConfig;
  try {
    const args = parseServerArgs(process.argv.slice(2), CLI);
    if (args.help) return void console.log(serverUsage(CLI));
    if (args.version) return void console.log(VERSION);
    config = loadControllerConfig(args.config ? ['--config', args.config] : [], process.env);
    if (args.checkConfig) {
      return void console.log(`controller: configuration is valid: namespace ${config.namespace}, webhook TLS ${config.webhook.tls.mode}, registry ${config.registry.url}`);
    }
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(JSON.stringify({ level: 'error', component: 'controller', msg: err.message, key: err.key }) + '\n');
      process.exit(2);
    }
    throw err;
  }
  const logger = createLogger({ component: 'controller', level: config.logLevel }).child({ identity: config.identity });
  const controller = new Controller({
    config,
    kubeConfig: loadKubeConfig(config),
    registries: createImageRegistries(config),
    logger,
    version: VERSION,
    webhookWorkerScript: webhookWorkerScript(),
  });
  // Stop leading first (the lease is released once the reconcilers stopped), then the servers.
  onShutdown(logger, [{ name: 'controller', run: () => controller.stop() }], 25_000);
  await controller.start();
  logger.info('kuik controller started', { version: VERSION, namespace: config.namespace, ops: controller.opsAddress() });
}

/**
 * The webhook thread's script: webhook-worker.js beside this bundle (the webhook alone); a build
 * without it runs this file again in the thread, which then takes the branch below.
 */
function webhookWorkerScript(): URL {
  const own = new URL('./webhook-worker.js', import.meta.url);
  return existsSync(own) ? own : new URL(import.meta.url);
}

// A build without webhook-worker.js: the webhook's worker thread runs this file too.
if (!isMainThread && isWebhookWorkerData(workerData)) {
  runWebhookWorker(workerData);
} else {
  main().catch((err: unknown) => {
    process.stderr.write(JSON.stringify({ level: 'error', component: 'controller', msg: 'fatal', err: String((err as Error)?.stack ?? err) }) + '\n');
    process.exit(1);
  });
}
