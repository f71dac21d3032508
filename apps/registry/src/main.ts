// kuik registry: an OCI Distribution v1.1 registry over pluggable storage.
//   node main.js [serve] [--config FILE | FILE]
// Configuration: distribution-style YAML, every key overridable by REGISTRY_<PATH> variables
// (see README.md). A bad configuration stops start-up with a message naming the key.
import { ConfigError } from '@kuik/config';
import { createLogger, onShutdown } from '@kuik/observability';
import { DriverConfigError } from '@kuik/storage';
import { loadRegistryConfig } from './config.js';
import { startRegistry, VERSION } from './registry.js';

const USAGE = 'usage: registry [serve] [--config FILE | FILE]';

function parseArgs(argv: string[]): { config?: string; help?: boolean; version?: boolean } {
  const out: { config?: string; help?: boolean; version?: boolean } = {};
  const args = argv[0] === 'serve' ? argv.slice(1) : argv;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--help' || a === '-h') out.help = true;
    else if (a === '--version' || a === '-v') out.version = true;
    else if (a === '--config' || a === '-c') {
      out.config = args[++i];
      if (!out.config) throw new ConfigError('', `--config needs a file. ${USAGE}`);
    } else if (a.startsWith('--config=')) out.config = a.slice('--config='.length);
    else if (!a.startsWith('-') && out.config === undefined) out.config = a;
    else throw new ConfigError('', `unknown argument ${JSON.stringify(a)}. ${USAGE}`);
  }
  return out;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (args.help) return void console.log(USAGE);
  if (args.version) return void console.log(VERSION);
  const config = loadRegistryConfig(args.config);
  const logger = createLogger({ component: 'registry', level: config.log.level });
  const registry = await startRegistry(config, { logger });
  onShutdown(logger, [{ name: 'registry', run: () => registry.close() }], config.http.drainTimeoutMs + 10_000);
}

main().catch((err: unknown) => {
  const known = err instanceof ConfigError || err instanceof DriverConfigError;
  const logger = createLogger({ component: 'registry' });
  logger.error(known ? 'invalid configuration' : 'start-up failed', { err });
  process.exit(known ? 2 : 1);
});
