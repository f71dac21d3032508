// Typed readers over a config tree. Every failure names the dotted key.
import { ConfigError, isPlainObject, type ConfigTree } from './config.js';

export class ConfigReader {
  constructor(
    private readonly tree: ConfigTree,
    private readonly at = '',
  ) {}

  private key(k: string): string {
    return this.at ? `${this.at}.${k}` : k;
  }

  raw(k: string): unknown {
    return this.tree[k];
  }

  has(k: string): boolean {
    return this.tree[k] !== undefined && this.tree[k] !== null;
  }

  keys(): string[] {
    return Object.keys(this.tree);
  }

  section(k: string): ConfigReader {
    const v = this.tree[k];
    if (v === undefined || v === null) return new ConfigReader({}, this.key(k));
    if (!isPlainObject(v)) throw new ConfigError(this.key(k), 'must be a mapping');
    return new ConfigReader(v, this.key(k));
  }

  /** The subtree as a plain object (e.g. driver parameters passed through). */
  object(k: string): ConfigTree {
    const v = this.tree[k];
    if (v === undefined || v === null) return {};
    if (!isPlainObject(v)) throw new ConfigError(this.key(k), 'must be a mapping');
    return v;
  }

  string(k: string, fallback?: string): string {
    const v = this.tree[k];
    if (v === undefined || v === null || v === '') {
      if (fallback !== undefined) return fallback;
      throw new ConfigError(this.key(k), 'required');
    }
    if (typeof v === 'number' || typeof v === 'boolean') return String(v);
    if (typeof v !== 'string') throw new ConfigError(this.key(k), `must be a string, got ${describe(v)}`);
    return v;
  }

  optionalString(k: string): string | undefined {
    return this.has(k) ? this.string(k) : undefined;
  }

  bool(k: string, fallback: boolean): boolean {
    const v = this.tree[k];
    if (v === undefined || v === null || v === '') return fallback;
    if (typeof v === 'boolean') return v;
    if (v === 'true') return true;
    if (v === 'false') return false;
    throw new ConfigError(this.key(k), `must be true or false, got ${describe(v)}`);
  }

  int(k: string, fallback: number, min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER): number {
    const v = this.tree[k];
    if (v === undefined || v === null || v === '') return fallback;
    const n = typeof v === 'number' ? v : typeof v === 'string' && /^-?\d+$/.test(v) ? Number(v) : NaN;
    if (!Number.isSafeInteger(n)) throw new ConfigError(this.key(k), `must be an integer, got ${describe(v)}`);
    if (n < min || n > max) throw new ConfigError(this.key(k), `must be between ${min} and ${max}, got ${n}`);
    return n;
  }

  /** Durations as Go-style strings ("30s", "5m", "720h", "1h30m") or plain seconds; returns milliseconds. */
  duration(k: string, fallbackMs: number): number {
    const v = this.tree[k];
    if (v === undefined || v === null || v === '') return fallbackMs;
    const ms = parseDuration(v);
    if (ms === undefined) throw new ConfigError(this.key(k), `must be a duration like 30s, 5m or 720h, got ${describe(v)}`);
    return ms;
  }

  /** Byte sizes as numbers or strings with units (4MiB, 10M, 1GiB). */
  bytes(k: string, fallback: number): number {
    const v = this.tree[k];
    if (v === undefined || v === null || v === '') return fallback;
    const n = parseBytes(v);
    if (n === undefined) throw new ConfigError(this.key(k), `must be a size like 4MiB or 1048576, got ${describe(v)}`);
    return n;
  }

  stringList(k: string, fallback: string[] = []): string[] {
    const v = this.tree[k];
    if (v === undefined || v === null || v === '') return fallback;
    if (typeof v === 'string') return v.split(',').map((s) => s.trim()).filter(Boolean);
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw new ConfigError(this.key(k), 'must be a list of strings');
    return v as string[];
  }

  oneOf<T extends string>(k: string, allowed: readonly T[], fallback: T): T {
    const v = this.string(k, fallback);
    if (!allowed.includes(v as T)) throw new ConfigError(this.key(k), `must be one of ${allowed.join(', ')}, got ${JSON.stringify(v)}`);
    return v as T;
  }

  /** Fails on keys not in the list: typos stop start-up instead of being ignored. */
  onlyKnown(known: readonly string[]): void {
    for (const k of Object.keys(this.tree)) {
      if (!known.includes(k)) throw new ConfigError(this.key(k), `unknown key (known here: ${known.join(', ')})`);
    }
  }
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

export function parseDuration(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) && v >= 0 ? v * 1000 : undefined;
  if (typeof v !== 'string') return undefined;
  const s = v.trim();
  if (/^\d+(\.\d+)?$/.test(s)) return Number(s) * 1000;
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/gy;
  let total = 0;
  let consumed = 0;
  for (let m = re.exec(s); m; m = re.exec(s)) {
    total += Number(m[1]) * UNITS[m[2]!]!;
    consumed = re.lastIndex;
  }
  return consumed === s.length && consumed > 0 ? total : undefined;
}

const SIZE: Record<string, number> = { '': 1, b: 1, k: 1e3, kb: 1e3, kib: 1024, m: 1e6, mb: 1e6, mib: 1 << 20, g: 1e9, gb: 1e9, gib: 1 << 30 };

export function parseBytes(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isSafeInteger(v) && v >= 0 ? v : undefined;
  if (typeof v !== 'string') return undefined;
  const m = /^(\d+)\s*([a-zA-Z]*)$/.exec(v.trim());
  if (!m) return undefined;
  const mult = SIZE[m[2]!.toLowerCase()];
  return mult === undefined ? undefined : Number(m[1]) * mult;
}

function describe(v: unknown): string {
  if (Array.isArray(v)) return 'a list';
  if (isPlainObject(v)) return 'a mapping';
  return JSON.stringify(v);
}

/** Parses "host:port" / ":port" / "[::1]:port" into parts; names the key on error. */
export function parseListenAddress(key: string, addr: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(addr.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new ConfigError(key, `must be host:port (e.g. 127.0.0.1:5000 or :5000), got ${JSON.stringify(addr)}`);
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port };
}
