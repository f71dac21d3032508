// Starts the real registry in-process on 127.0.0.1:0, configured exactly as in production (the
// storage driver is created from the configuration), with a log sink the tests can read.
import { isPlainObject, type ConfigTree } from '@kuik/config';
import { requireServer } from '@kuik/testing';
import { createLogger, type Logger } from '@kuik/observability';
import type { StorageDriver } from '@kuik/storage';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseRegistryConfig } from '../../src/config.js';
import { startRegistry, type Registry } from '../../src/registry.js';

/** The drivers every integration suite runs against. */
export function testDrivers(): string[] {
  return ['inmemory', 'filesystem'];
}

/**
 * Storage that one or several registries can be started on: the driver parameters, which
 * designate the same data for every registry given them (a shared directory; a named in-memory
 * tree), as two replicas would have.
 */
export interface TestStorage {
  kind: string;
  params: Record<string, unknown>;
  dispose(): void;
}

export function createTestStorage(kind: string): TestStorage {
  if (kind === 'filesystem') {
    const root = mkdtempSync(path.join(tmpdir(), 'kuik-registry-test-'));
    return { kind, params: { rootdirectory: root }, dispose: () => rmSync(root, { recursive: true, force: true }) };
  }
  if (kind === 'inmemory') return { kind, params: { name: randomUUID() }, dispose: () => undefined };
  if (kind === 's3') {
    // The test MinIO (fails with the command that starts it when it is not running): one shared
    // bucket, a fresh root per storage. The suite that uses it deletes what it wrote.
    const env = requireServer('minio');
    const params = {
      regionendpoint: env['MINIO_ENDPOINT'],
      region: env['MINIO_REGION'],
      bucket: 'kuik-registry-tests',
      createbucket: true,
      forcepathstyle: true,
      accesskey: env['MINIO_ACCESS_KEY'],
      secretkey: env['MINIO_SECRET_KEY'],
      rootdirectory: `/run-${randomUUID()}`,
    };
    return { kind, params, dispose: () => undefined };
  }
  throw new Error(`no test storage for driver ${kind}`);
}

export interface TestRegistry {
  registry: Registry;
  url: string;
  port: number;
  /** The registry's own (instrumented) driver, for looking at what storage holds. */
  driver: StorageDriver;
  logs: Record<string, unknown>[];
  close(): Promise<void>;
}

export interface TestRegistryOptions {
  /** Storage to use (shared between registries); a fresh one of `kind` when absent. */
  storage?: TestStorage;
  kind?: string;
  /** Deep-merged over the test defaults. */
  config?: ConfigTree;
}

export async function startTestRegistry(options: TestRegistryOptions = {}): Promise<TestRegistry> {
  const storage = options.storage ?? createTestStorage(options.kind ?? testDrivers()[0]!);
  const tree = merge(
    {
      log: { level: 'debug' },
      http: { addr: '127.0.0.1:0', debug: { addr: '127.0.0.1:0' }, draintimeout: '5s' },
      storage: { [storage.kind]: storage.params, delete: { enabled: true }, maintenance: { uploadpurging: { enabled: false } } },
    },
    options.config ?? {},
  );
  const config = parseRegistryConfig(tree);
  const logs: Record<string, unknown>[] = [];
  const logger: Logger = createLogger({ component: 'registry', level: 'debug', sink: (line) => logs.push(JSON.parse(line) as Record<string, unknown>) });
  const registry = await startRegistry(config, { logger });
  return {
    registry,
    url: registry.url,
    port: registry.http.address().port,
    driver: registry.driver,
    logs,
    async close() {
      await registry.close();
      if (!options.storage) storage.dispose();
    },
  };
}

function merge(a: ConfigTree, b: ConfigTree): ConfigTree {
  const out: ConfigTree = { ...a };
  for (const [k, v] of Object.entries(b)) out[k] = isPlainObject(v) && isPlainObject(out[k]) ? merge(out[k] as ConfigTree, v) : v;
  return out;
}
