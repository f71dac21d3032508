// Configuration loading shared by every kuik server, in distribution's style:
//   1. built-in defaults, 2. a YAML file (--config FILE), 3. environment variables.
// Environment rule: PREFIX_A_B_C sets key a.b.c (e.g. REGISTRY_STORAGE_S3_BUCKET → storage.s3.bucket).
// Segments are matched case-insensitively against keys already present (defaults or file), greedily,
// so a key that itself contains "_" (e.g. delete_untagged) is reachable as PREFIX_GC_DELETE_UNTAGGED;
// unknown segments become lower-case keys. Values are parsed as YAML scalars ("true" → true, "5" → 5;
// quote to keep a string: REGISTRY_X='"5"'). Validation into a typed object is the app's job, with
// ConfigError naming the key.
import { readFileSync } from 'node:fs';
import { parse as parseYaml, YAMLParseError } from 'yaml';

export type ConfigTree = Record<string, unknown>;

export class ConfigError extends Error {
  readonly key: string;
  constructor(key: string, problem: string) {
    super(key ? `config ${key}: ${problem}` : `config: ${problem}`);
    this.name = 'ConfigError';
    this.key = key;
  }
}

export interface LoadOptions {
  /** YAML file path; absent → defaults and environment only. */
  file?: string;
  /** Environment prefix without trailing underscore, e.g. "REGISTRY". */
  envPrefix: string;
  env?: NodeJS.ProcessEnv;
  defaults?: ConfigTree;
  /** Largest config file accepted (default 1 MiB). */
  maxFileBytes?: number;
}

export function loadConfigTree(opts: LoadOptions): ConfigTree {
  const tree: ConfigTree = structuredClone(opts.defaults ?? {});
  if (opts.file) mergeInto(tree, readYamlFile(opts.file, opts.maxFileBytes ?? 1 << 20), '');
  applyEnv(tree, opts.envPrefix, opts.env ?? process.env);
  return tree;
}

export function readYamlFile(file: string, maxBytes = 1 << 20): ConfigTree {
  let text: string;
  try {
    const buf = readFileSync(file);
    if (buf.length > maxBytes) throw new ConfigError('', `${file} is larger than ${maxBytes} bytes`);
    text = buf.toString('utf8');
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError('', `cannot read ${file}: ${(err as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text, { maxAliasCount: 100 });
  } catch (err) {
    const where = err instanceof YAMLParseError && err.linePos ? ` (line ${err.linePos[0].line})` : '';
    throw new ConfigError('', `${file} is not valid YAML${where}: ${(err as Error).message.split('\n')[0]}`);
  }
  if (doc === null || doc === undefined) return {};
  if (!isPlainObject(doc)) throw new ConfigError('', `${file} must hold a mapping at the top level`);
  return doc;
}

export function applyEnv(tree: ConfigTree, prefix: string, env: NodeJS.ProcessEnv): void {
  const p = prefix.toUpperCase() + '_';
  // Shorter keys first, so a parent set by env (rare) is overridden by a more specific child.
  const names = Object.keys(env)
    .filter((k) => k.startsWith(p) && k.length > p.length)
    .sort((a, b) => a.length - b.length || a.localeCompare(b));
  for (const name of names) {
    const segments = name.slice(p.length).split('_').filter(Boolean);
    const value = parseScalar(env[name] as string);
    setBySegments(tree, segments, value, name);
  }
}

function setBySegments(tree: ConfigTree, segments: string[], value: unknown, envName: string): void {
  let node: ConfigTree = tree;
  let i = 0;
  while (i < segments.length) {
    // Greedy: the longest run of segments that names an existing key at this level.
    let matched: string | undefined;
    let used = 1;
    for (let j = segments.length; j > i; j--) {
      const candidate = segments.slice(i, j).join('_').toLowerCase();
      const key = Object.keys(node).find((k) => k.toLowerCase() === candidate);
      if (key !== undefined) {
        matched = key;
        used = j - i;
        break;
      }
    }
    const key = matched ?? segments[i]!.toLowerCase();
    i += used;
    if (i === segments.length) {
      node[key] = value;
      return;
    }
    const next = node[key];
    if (next === undefined || next === null) node[key] = {};
    else if (!isPlainObject(next)) throw new ConfigError(key, `${envName} descends into ${key}, which is not a mapping`);
    node = node[key] as ConfigTree;
  }
}

function parseScalar(raw: string): unknown {
  try {
    const v: unknown = parseYaml(raw);
    return v === null ? '' : v;
  } catch {
    return raw;
  }
}

function mergeInto(target: ConfigTree, source: ConfigTree, at: string): void {
  for (const [k, v] of Object.entries(source)) {
    const key = at ? `${at}.${k}` : k;
    if (isPlainObject(v) && isPlainObject(target[k])) mergeInto(target[k] as ConfigTree, v, key);
    else target[k] = structuredClone(v);
  }
}

export function isPlainObject(v: unknown): v is ConfigTree {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
