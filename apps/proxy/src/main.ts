// kuik proxy: the node-local pull-through endpoint (127.0.0.1:7439 by default).
//   node main.js [--config FILE | FILE] [--check-config]
// Configuration: YAML, every key overridable by PROXY_<PATH> variables (see README.md). A bad
// configuration stops start-up with a message naming the key.
import { ConfigError, parseServerArgs, serverUsage } from '@kuik/config';
import { createLogger, onShutdown } from '@kuik/observability';
import { loadProxyConfig } from './config.js';
import { startProxy, VERSION } from './proxy.js';

const CLI = { name: 'proxy' } as const;

async function main(): Promise<void> {
  const args = parseServerArgs(process.argv.slice(2), CLI);
  if (args.help) return void console.log(serverUsage(CLI));
  if (args.version) return void console.log(VERSION);
  const config = loadProxyConfig(args.config);
  if (args.checkConfig) {
    return void console.log(`proxy: configuration is valid: listening on ${config.listen.host}:${config.listen.port}, cache ${config.registry.url}`);
  }
  const logger = createLogger({ component: 'proxy', level: config.log.level });
  const proxy = await startProxy(config, { logger });
  onShutdown(logger, [{ name: 'proxy', run: () => proxy.close(15_000) }], 25_000);
}

main().catch((err: unknown) => {
  const known = err instanceof ConfigError;
  createLogger({ component: 'proxy' }).error(known ? 'invalid configuration' : 'start-up failed', { err });
  process.exit(known ? 2 : 1);
});
