// What every resource handler receives, and the router's options.
import type { Request, Response } from 'express';
import type { RegistryBackend } from './backend.js';
import type { RouteMatch } from './routes.js';

/** One access the request needs, in the shape of Docker token scopes ("repository:a/b:pull,push"). */
export interface AccessScope {
  type: 'repository' | 'registry';
  /** Repository name, or "catalog" for the registry scope. */
  name: string;
  actions: ('pull' | 'push' | 'delete' | '*')[];
}

export interface AuthorizeRequest {
  req: Request;
  res: Response;
  route: RouteMatch;
  scopes: AccessScope[];
}

/**
 * The auth seam: called before every handler with the scopes the request needs. Throw an
 * OciError (UNAUTHORIZED with a WWW-Authenticate header, or DENIED) to refuse.
 */
export type AuthorizeHook = (request: AuthorizeRequest) => Promise<void> | void;

export interface RouterOptions {
  backend: RegistryBackend;
  authorize?: AuthorizeHook;
  /** Largest manifest accepted on PUT (default 4 MiB, the spec's minimum to support). */
  manifestMaxBytes?: number;
  /** A request body silent this long is aborted with 408 (default 60 s; 0 disables). */
  bodyIdleTimeoutMs?: number;
  /** Upper bound of n for tag and catalog listings (default 1000). */
  maxPageEntries?: number;
  /** Called with every error answered with a 5xx status, for logging. */
  onServerError?: (err: unknown, req: Request) => void;
}

export type ResolvedOptions = Required<Omit<RouterOptions, 'authorize' | 'onServerError'>> & Pick<RouterOptions, 'authorize' | 'onServerError'>;

export interface HandlerContext {
  req: Request;
  res: Response;
  route: RouteMatch;
  /** Repository name, validated (empty for base and catalog). */
  name: string;
  backend: RegistryBackend;
  options: ResolvedOptions;
  /** Aborted when the client goes away before the response is complete. */
  signal: AbortSignal;
  /** Prefix for URLs in Location and Link headers (where the router is mounted). */
  base: string;
}

export type Method = 'GET' | 'HEAD' | 'PUT' | 'PATCH' | 'POST' | 'DELETE';
export type Handler = (ctx: HandlerContext) => Promise<void>;
export type ResourceHandlers = Partial<Record<Method, Handler>>;

export const API_VERSION_HEADER = 'Docker-Distribution-API-Version';
export const API_VERSION = 'registry/2.0';
