// Credentials from a Docker config.json (what `docker login` writes, and what Kubernetes
// dockerconfigjson pull secrets hold): {"auths": {"<host or URL>": {"auth": base64("user:pass"),
// "username", "password", "identitytoken", "registrytoken"}}}. Keys may be bare hosts or URLs
// ("https://index.docker.io/v1/"); Docker Hub aliases all mean docker.io. Credential helpers
// (credsStore, credHelpers) run programs and are deliberately not supported.
// The file is read lazily and re-read when its modification time changes, so a mounted Secret
// that Kubernetes updates is picked up without a restart, and start-up reads nothing.
import { readFile, stat } from 'node:fs/promises';
import type { Credentials, CredentialsResolver } from './credentials.js';
import { canonicalRegistryHost } from './hosts.js';

const MAX_CONFIG_BYTES = 4 << 20;

/** Parses the text of a config.json into host → credentials; throws naming the problem. */
export function parseDockerConfig(text: string, source = 'config.json'): Map<string, Credentials> {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new Error(`${source}: not valid JSON: ${(err as Error).message}`);
  }
  if (typeof doc !== 'object' || doc === null) throw new Error(`${source}: must be a JSON object`);
  // A bare ~/.dockercfg has the auths map at the top level.
  const auths = (doc as { auths?: unknown }).auths ?? doc;
  if (typeof auths !== 'object' || auths === null) throw new Error(`${source}: "auths" must be an object`);
  const out = new Map<string, Credentials>();
  for (const [key, entry] of Object.entries(auths as Record<string, unknown>)) {
    if (typeof entry !== 'object' || entry === null) continue;
    const c = entryCredentials(entry as Record<string, unknown>, `${source}: auths[${JSON.stringify(key)}]`);
    // The first entry for a host wins, as in Docker, when several aliases are listed.
    const host = canonicalRegistryHost(key);
    if (c && !out.has(host)) out.set(host, c);
  }
  return out;
}

// When an entry has several kinds of credentials, the one Docker would use wins: a registry
// token first (moby sends it as is and skips the token and Basic handlers altogether), then an
// identity token (distribution's token handler prefers the refresh-token grant to the
// password), then "auth", then username/password. `docker login` with an identity token keeps
// the username in "auth" with an empty password, so that order matters.
function entryCredentials(e: Record<string, unknown>, where: string): Credentials | undefined {
  const str = (k: string) => (typeof e[k] === 'string' && e[k] !== '' ? (e[k] as string) : undefined);
  const registryToken = str('registrytoken');
  if (registryToken) return { registryToken };
  const identityToken = str('identitytoken');
  if (identityToken) return { identityToken };
  const auth = str('auth');
  if (auth) {
    const decoded = Buffer.from(auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon <= 0) throw new Error(`${where}.auth: must be base64 of "username:password"`);
    return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
  }
  const username = str('username');
  const password = str('password');
  if (username && password !== undefined) return { username, password };
  return undefined;
}

export interface DockerConfigOptions {
  /**
   * The file is looked at (stat) at most once per this many milliseconds: a change (a mounted
   * Secret updated, `docker login`) applies within it, and a busy proxy does not stat the file
   * for every origin request. Default 1000; 0 looks every time.
   */
  recheckMs?: number;
  /** Clock, for tests. */
  now?: () => number;
}

export class DockerConfigCredentials implements CredentialsResolver {
  private cached?: { mtimeMs: number; size: number; entries: Map<string, Credentials> };
  private checkedAt = -Infinity;
  private checking?: Promise<Map<string, Credentials>>;
  private readonly recheckMs: number;
  private readonly now: () => number;

  constructor(
    readonly file: string,
    options: DockerConfigOptions = {},
  ) {
    this.recheckMs = options.recheckMs ?? 1000;
    this.now = options.now ?? Date.now;
  }

  async resolve(host: string): Promise<Credentials | undefined> {
    const entries = await this.load();
    return entries.get(canonicalRegistryHost(host));
  }

  /** Hosts the file has credentials for (diagnostics; never logs secrets). */
  async hosts(): Promise<string[]> {
    return [...(await this.load()).keys()];
  }

  private load(): Promise<Map<string, Credentials>> {
    if (this.now() - this.checkedAt < this.recheckMs) return Promise.resolve(this.cached?.entries ?? new Map());
    // Concurrent requests share one look at the file.
    this.checking ??= this.reload().finally(() => (this.checking = undefined));
    return this.checking;
  }

  private async reload(): Promise<Map<string, Credentials>> {
    let st;
    try {
      st = await stat(this.file);
    } catch (err) {
      // No file yet (a Secret not mounted): anonymous, not an error.
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      this.cached = undefined;
      this.checkedAt = this.now();
      return new Map();
    }
    if (!(this.cached && this.cached.mtimeMs === st.mtimeMs && this.cached.size === st.size)) {
      if (st.size > MAX_CONFIG_BYTES) throw new Error(`${this.file}: larger than ${MAX_CONFIG_BYTES} bytes`);
      const entries = parseDockerConfig(await readFile(this.file, 'utf8'), this.file);
      this.cached = { mtimeMs: st.mtimeMs, size: st.size, entries };
    }
    // Only a successful look counts: a broken file is reported on every request until mended.
    this.checkedAt = this.now();
    return this.cached.entries;
  }
}
