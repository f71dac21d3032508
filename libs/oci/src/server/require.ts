// Guards for optional backend capabilities: a pull-only backend answers pushes with UNSUPPORTED.
import { OciError } from '../errors.js';
import type { DeleteOperations, PushOperations, RegistryBackend } from './backend.js';

export function requirePush(backend: RegistryBackend): PushOperations {
  if (!backend.push) throw new OciError('UNSUPPORTED', 'this registry does not accept pushes');
  return backend.push;
}

export function requireDelete(backend: RegistryBackend): DeleteOperations {
  if (!backend.delete) throw new OciError('UNSUPPORTED', 'deletion is disabled on this registry');
  return backend.delete;
}
