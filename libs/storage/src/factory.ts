// Drivers register a factory under their name; configuration picks one by name
// (`storage: { s3: { bucket: ... } }` selects "s3"). Parameter names follow distribution's drivers.
import { parseDuration } from '@kuik/config';
import { DriverConfigError } from './errors.js';
import { instrument, type InstrumentOptions, type DriverHooks } from './base.js';
import type { StorageDriver } from './types.js';

export type DriverParameters = Record<string, unknown>;

export interface DriverDefinition {
  name: string;
  /** Builds the raw driver; throws DriverConfigError naming the key on bad parameters. */
  create(params: DriverParameters): Promise<StorageDriver> | StorageDriver;
  /** Checks the parameters without reaching the storage service; throws DriverConfigError naming the key. */
  validate(params: DriverParameters): unknown;
  /** How this driver's SDK errors map onto the common set (used by the base wrapper). */
  hooks: DriverHooks;
  /** Whether several registry replicas may share this storage (seed: HA-compatible). */
  shareable: boolean;
}

const definitions = new Map<string, DriverDefinition>();

export function registerDriver(def: DriverDefinition): void {
  if (definitions.has(def.name)) throw new Error(`storage driver "${def.name}" registered twice`);
  definitions.set(def.name, def);
}

export function driverNames(): string[] {
  return [...definitions.keys()].sort();
}

export function driverDefinition(name: string): DriverDefinition {
  const def = definitions.get(name);
  if (!def) throw new DriverConfigError(name, '', `unknown storage driver "${name}" (known: ${driverNames().join(', ')})`);
  return def;
}

/** Creates a driver by name, wrapped by the base wrapper (path checks, metrics, error mapping). */
export async function createDriver(
  name: string,
  params: DriverParameters = {},
  options: InstrumentOptions = {},
): Promise<StorageDriver> {
  const def = driverDefinition(name);
  const raw = await def.create(params);
  return instrument(raw, def.hooks, options);
}

/** Validates a driver's parameters as create() would, without any network call (--check-config). */
export async function validateDriverParameters(name: string, params: DriverParameters = {}): Promise<void> {
  await driverDefinition(name).validate(params);
}

// Small typed accessors for driver parameters; each error names the key.
export const param = {
  string(driver: string, p: DriverParameters, key: string, fallback?: string): string {
    const v = p[key];
    if (v === undefined || v === null || v === '') {
      if (fallback !== undefined) return fallback;
      throw new DriverConfigError(driver, key, 'required');
    }
    if (typeof v !== 'string') throw new DriverConfigError(driver, key, `must be a string, got ${typeof v}`);
    return v;
  },
  optionalString(driver: string, p: DriverParameters, key: string): string | undefined {
    const v = p[key];
    if (v === undefined || v === null || v === '') return undefined;
    if (typeof v !== 'string') throw new DriverConfigError(driver, key, `must be a string, got ${typeof v}`);
    return v;
  },
  bool(driver: string, p: DriverParameters, key: string, fallback: boolean): boolean {
    const v = p[key];
    if (v === undefined || v === null || v === '') return fallback;
    if (typeof v === 'boolean') return v;
    if (v === 'true') return true;
    if (v === 'false') return false;
    throw new DriverConfigError(driver, key, `must be true or false, got ${JSON.stringify(v)}`);
  },
  int(driver: string, p: DriverParameters, key: string, fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER): number {
    const v = p[key];
    if (v === undefined || v === null || v === '') return fallback;
    const n = typeof v === 'number' ? v : typeof v === 'string' && /^-?\d+$/.test(v.trim()) ? Number(v) : NaN;
    if (!Number.isSafeInteger(n)) throw new DriverConfigError(driver, key, `must be an integer, got ${JSON.stringify(v)}`);
    if (n < min || n > max) throw new DriverConfigError(driver, key, `must be between ${min} and ${max}, got ${n}`);
    return n;
  },
  /** A duration as a Go-style string ("60s", "1m30s", "500ms") or plain seconds; returns milliseconds. */
  duration(driver: string, p: DriverParameters, key: string, fallbackMs: number, minMs = 0): number {
    const v = p[key];
    if (v === undefined || v === null || v === '') return fallbackMs;
    const ms = parseDuration(v);
    if (ms === undefined) throw new DriverConfigError(driver, key, `must be a duration like 60s, 1m30s or 500ms, got ${JSON.stringify(v)}`);
    if (ms < minMs) throw new DriverConfigError(driver, key, `must be at least ${minMs}ms, got ${JSON.stringify(v)}`);
    return ms;
  },
  /** Rejects keys the driver does not know, so typos are caught at start-up. */
  onlyKnown(driver: string, p: DriverParameters, known: readonly string[]): void {
    for (const k of Object.keys(p)) {
      if (!known.includes(k)) throw new DriverConfigError(driver, k, `unknown parameter (known: ${known.join(', ')})`);
    }
  },
};

