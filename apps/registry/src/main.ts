// kuik registry: an OCI Distribution v1.1 registry over pluggable storage.
//   node main.js [serve] [--config FILE | FILE] [--check-config]
//   node main.js gc [--config FILE | FILE] [--dry-run]     one garbage collection now (gc/command.ts)
// Configuration: distribution-style YAML, every key overridable by REGISTRY_<PATH> variables
// (see README.md). A bad configuration stops start-up with a message naming the key.
import { ConfigError, parseServerArgs, serverUsage } from '@kuik/config';
import { createLogger, onShutdown } from '@kuik/observability';
import { DriverConfigError, validateDriverParameters } from '@kuik/storage';
import { loadRegistryConfig } from './config.js';
import { gcCommand } from './gc/command.js';
import { startRegistry, VERSION } from './registry.js';

const CLI = { name: 'registry', commands: ['serve', 'gc'], flags: ['dry-run'] } as const;

async function main(): Promise<void> {
  const args = parseServerArgs(process.argv.slice(2), CLI);
  if (args.help) return void console.log(serverUsage(CLI));
  if (args.version) return void console.log(VERSION);
  const config = loadRegistryConfig(args.config);
  if (args.checkConfig) {
    await validateDriverParameters(config.storage.driver, config.storage.params);
    const ignored = config.ignored.length ? ` (ignored distribution keys: ${config.ignored.join(', ')})` : '';
    return void console.log(`registry: configuration is valid: storage ${config.storage.driver}, listening on ${config.http.addr.host || '*'}:${config.http.addr.port}${ignored}`);
  }
  const logger = createLogger({ component: 'registry', level: config.log.level });
  if (args.command === 'gc') return void (process.exitCode = await gcCommand(config, logger, args.flags.has('dry-run')));
  const registry = await startRegistry(config, { logger });
  onShutdown(logger, [{ name: 'registry', run: () => registry.close() }], config.http.drainTimeoutMs + 10_000);
}

main().catch((err: unknown) => {
  const known = err instanceof ConfigError || err instanceof DriverConfigError;
  const logger = createLogger({ component: 'registry' });
  logger.error(known ? 'invalid configuration' : 'start-up failed', { err });
  process.exit(known ? 2 : 1);
});
