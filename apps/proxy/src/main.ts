// kuik proxy: the node-local pull-through endpoint (127.0.0.1:7439 by default).
//   node main.js [--config FILE | FILE]
// Configuration: YAML, every key overridable by PROXY_<PATH> variables (see README.md). A bad
// configuration stops start-up with a message naming the key.
import { ConfigError } from '@kuik/config';
import { createLogger, onShutdown } from '@kuik/observability';
import { loadProxyConfig } from './config.js';
import { startProxy, VERSION } from './proxy.js';

const USAGE = 'usage: proxy [--config FILE | FILE]';

function parseArgs(argv: string[]): { config?: string; help?: boolean; version?: boolean } {
  const out: { config?: string; help?: boolean; version?: boolean } = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--help' || a === '-h') out.help = true;
    else if (a === '--version' || a === '-v') out.version = true;
    else if (a === '--config' || a === '-c') {
      out.config = argv[++i];
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
  const config = loadProxyConfig(args.config);
  const logger = createLogger({ component: 'proxy', level: config.log.level });
  const proxy = await startProxy(config, { logger });
  onShutdown(logger, [{ name: 'proxy', run: () => proxy.close(15_000) }], 25_000);
}

main().catch((err: unknown) => {
  const known = err instanceof ConfigError;
  createLogger({ component: 'proxy' }).error(known ? 'invalid configuration' : 'start-up failed', { err });
  process.exit(known ? 2 : 1);
});
