// The command line every kuik server shares:
//   main.js [SUBCOMMAND] [--config FILE | FILE] [--check-config] [--help] [--version]
// --check-config loads and validates the configuration (defaults, file, environment) and exits:
// 0 when it would start, 2 with the offending key otherwise — what the Helm chart's tests and an
// operator editing a ConfigMap run before rolling out.
import { ConfigError } from './config.js';

export interface ServerArgs {
  /** The subcommand, when the server has any (e.g. the registry's `serve`, `gc`). */
  command?: string;
  config?: string;
  checkConfig: boolean;
  help: boolean;
  version: boolean;
  /** Flags a subcommand accepts beyond the common ones (e.g. `--dry-run`), without the dashes. */
  flags: Set<string>;
}

export interface ServerArgsSpec {
  /** The program's name in the usage line. */
  name: string;
  /** Subcommands; the first is the default when none is given. */
  commands?: readonly string[];
  /** Extra boolean flags (without `--`). */
  flags?: readonly string[];
}

export function serverUsage(spec: ServerArgsSpec): string {
  const cmd = spec.commands?.length ? ` [${spec.commands.join('|')}]` : '';
  const extra = (spec.flags ?? []).map((f) => ` [--${f}]`).join('');
  return `usage: ${spec.name}${cmd} [--config FILE | FILE] [--check-config]${extra} [--help] [--version]`;
}

/** Parses argv (without node and the script); a bad argument is a ConfigError carrying the usage. */
export function parseServerArgs(argv: readonly string[], spec: ServerArgsSpec): ServerArgs {
  const usage = serverUsage(spec);
  const out: ServerArgs = { checkConfig: false, help: false, version: false, flags: new Set() };
  let args = argv;
  if (spec.commands?.length) {
    out.command = spec.commands[0];
    if (args[0] !== undefined && spec.commands.includes(args[0])) {
      out.command = args[0];
      args = args.slice(1);
    }
  }
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--help' || a === '-h') out.help = true;
    else if (a === '--version' || a === '-v') out.version = true;
    else if (a === '--check-config') out.checkConfig = true;
    else if (a === '--config' || a === '-c') {
      const file = args[++i];
      if (!file) throw new ConfigError('', `--config needs a file. ${usage}`);
      out.config = file;
    } else if (a.startsWith('--config=')) {
      out.config = a.slice('--config='.length);
      if (!out.config) throw new ConfigError('', `--config needs a file. ${usage}`);
    } else if (a.startsWith('--') && spec.flags?.includes(a.slice(2))) out.flags.add(a.slice(2));
    else if (!a.startsWith('-') && out.config === undefined) out.config = a;
    else throw new ConfigError('', `unknown argument ${JSON.stringify(a)}. ${usage}`);
  }
  return out;
}
