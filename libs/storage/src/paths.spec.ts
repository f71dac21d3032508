import { describe, expect, it } from '@jest/globals';
import { joinPath, MAX_PATH_LENGTH, parentPath, pathProblem } from './paths.js';

describe('pathProblem', () => {
  it.each([
    '/a',
    '/docker/registry/v2/blobs/sha256/ab/abcdef0123/data',
    '/a.b/c-d/e_f/G9',
    '/.hidden',
    '/a/..b/c..',
    `/${'x'.repeat(MAX_PATH_LENGTH - 1)}`,
  ])('accepts %s', (p) => {
    expect(pathProblem(p)).toBeNull();
  });

  it.each([
    ['', 'must start with "/"'],
    ['a/b', 'must start with "/"'],
    ['/a//b', 'empty segment'],
    ['//', 'empty segment'],
    ['/a/', 'empty segment'],
    ['/a/./b', '"." segment'],
    ['/a/../b', '".." segment'],
    ['/..', '".." segment'],
    ['/a\0b', 'contains NUL'],
    ['/a b', 'segment "a b" has characters outside [A-Za-z0-9._-]'],
    ['/a~b', 'segment "a~b" has characters outside [A-Za-z0-9._-]'],
    ['/é', 'segment "é" has characters outside [A-Za-z0-9._-]'],
    ['/a\\b', 'segment "a\\\\b" has characters outside [A-Za-z0-9._-]'],
    [`/${'x'.repeat(MAX_PATH_LENGTH)}`, `longer than ${MAX_PATH_LENGTH} characters`],
  ])('rejects %j: %s', (p, reason) => {
    expect(pathProblem(p)).toBe(reason);
  });

  it('accepts the root only where a directory is meant', () => {
    expect(pathProblem('/')).toBe('the root is not a file');
    expect(pathProblem('/', true)).toBeNull();
  });

  it('rejects values that are not strings', () => {
    expect(pathProblem(undefined as unknown as string)).toBe('not a string');
    expect(pathProblem(42 as unknown as string)).toBe('not a string');
  });
});

describe('joinPath and parentPath', () => {
  it('joins segments and paths into one absolute path', () => {
    expect(joinPath('a', 'b')).toBe('/a/b');
    expect(joinPath('/a/', '/b/c', 'd')).toBe('/a/b/c/d');
    expect(joinPath()).toBe('/');
  });

  it('gives the parent directory, "/" for top-level entries', () => {
    expect(parentPath('/a/b/c')).toBe('/a/b');
    expect(parentPath('/a')).toBe('/');
    expect(parentPath('/')).toBe('/');
  });
});
