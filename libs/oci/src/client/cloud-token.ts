// Registry credentials minted from the workload's own cloud identity (Amazon ECR's
// GetAuthorizationToken, Google's access tokens): short-lived, so each is kept and renewed ahead of
// its expiry, by one call however many pulls need it at once. A refusal is remembered for a short
// back-off (pulls fail fast and the cloud API is not hammered); a token still valid keeps serving
// while its renewal fails or runs.
import type { Credentials, CredentialsResolver } from './credentials.js';

export interface CloudToken {
  username: string;
  password: string;
  /** When the token stops working (ms since the epoch). */
  expiresAt: number;
}

export interface CloudTokenOptions {
  /** The token is renewed this long before it expires. Default 30 minutes. */
  renewBeforeMs?: number;
  /** After a failure, the same error is given for this long before asking again. Default 15 s. */
  failureBackoffMs?: number;
  /** How long one token request may take. Default 20 s. */
  timeoutMs?: number;
  now?: () => number;
}

interface TokenState {
  token?: CloudToken;
  renewing?: Promise<CloudToken>;
  failure?: { error: Error; until: number };
}

/** Past this, a token due for renewal is no longer handed out while the renewal runs. */
const MIN_REMAINING_MS = 60_000;

export abstract class CloudTokenCredentials implements CredentialsResolver {
  private readonly states = new Map<string, TokenState>();
  protected readonly now: () => number;

  constructor(private readonly tokenOptions: CloudTokenOptions = {}) {
    this.now = tokenOptions.now ?? Date.now;
  }

  /** Which token serves this host (e.g. its region); undefined when this resolver does not apply. */
  protected abstract tokenKey(host: string): string | undefined;
  /** Asks the cloud for a token. */
  protected abstract fetchToken(key: string, signal: AbortSignal): Promise<CloudToken>;
  /** The message of a failure, naming the host, why, and what the workload needs. */
  protected abstract failureMessage(host: string, key: string, why: string): string;

  async resolve(host: string, signal?: AbortSignal): Promise<Credentials | undefined> {
    const key = this.tokenKey(host);
    if (key === undefined) return undefined;
    const token = await this.token(key, host, signal);
    return { username: token.username, password: token.password };
  }

  private token(key: string, host: string, signal?: AbortSignal): Promise<CloudToken> {
    let state = this.states.get(key);
    if (!state) this.states.set(key, (state = {}));
    const now = this.now();
    const renewBefore = this.tokenOptions.renewBeforeMs ?? 30 * 60_000;
    if (state.token && state.token.expiresAt - renewBefore > now) return Promise.resolve(state.token);
    // Due for renewal but still valid: renew in the background, answer with what we have.
    const usable = state.token && state.token.expiresAt > now + MIN_REMAINING_MS ? state.token : undefined;
    if (state.failure && state.failure.until > now) return usable ? Promise.resolve(usable) : Promise.reject(state.failure.error);
    state.renewing ??= this.renew(key, host, state);
    if (usable) {
      state.renewing.catch(() => undefined);
      return Promise.resolve(usable);
    }
    return signal ? raceAbort(state.renewing, signal) : state.renewing;
  }

  private async renew(key: string, host: string, state: TokenState): Promise<CloudToken> {
    const timeoutMs = this.tokenOptions.timeoutMs ?? 20_000;
    const timeout = AbortSignal.timeout(timeoutMs);
    try {
      const token = await this.fetchToken(key, timeout);
      state.token = token;
      state.failure = undefined;
      return token;
    } catch (err) {
      const e = err as { name?: string; message?: string };
      const why = timeout.aborted ? `no answer within ${timeoutMs} ms` : `${e.name && e.name !== 'Error' ? `${e.name}: ` : ''}${e.message ?? String(err)}`;
      const error = new Error(this.failureMessage(host, key, why), { cause: err });
      state.failure = { error, until: this.now() + (this.tokenOptions.failureBackoffMs ?? 15_000) };
      throw error;
    } finally {
      state.renewing = undefined;
    }
  }
}

/** p, or the signal's reason if it aborts first (for SDK calls that take no signal). */
export function raceAbort<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => (signal.removeEventListener('abort', onAbort), resolve(v)),
      (e: unknown) => (signal.removeEventListener('abort', onAbort), reject(e)),
    );
  });
}
