import { describe, expect, it } from '@jest/globals';
import { ConfigError, parseServerArgs, serverUsage } from './index.js';

const registry = { name: 'registry', commands: ['serve', 'gc'], flags: ['dry-run'] } as const;
const proxy = { name: 'proxy' } as const;

describe('parseServerArgs', () => {
  it('reads --config in every spelling and the positional file', () => {
    expect(parseServerArgs(['--config', 'a.yml'], proxy).config).toBe('a.yml');
    expect(parseServerArgs(['-c', 'a.yml'], proxy).config).toBe('a.yml');
    expect(parseServerArgs(['--config=a.yml'], proxy).config).toBe('a.yml');
    expect(parseServerArgs(['a.yml'], proxy).config).toBe('a.yml');
    expect(parseServerArgs([], proxy)).toEqual({ checkConfig: false, help: false, version: false, flags: new Set() });
  });

  it('picks the subcommand, defaulting to the first', () => {
    expect(parseServerArgs(['--config', 'a.yml'], registry).command).toBe('serve');
    const gc = parseServerArgs(['gc', '--config', 'a.yml', '--dry-run'], registry);
    expect(gc.command).toBe('gc');
    expect([...gc.flags]).toEqual(['dry-run']);
    // A subcommand name after the options is a file name, not a command.
    expect(parseServerArgs(['--check-config', 'gc'], registry)).toMatchObject({ command: 'serve', config: 'gc', checkConfig: true });
  });

  it('flags --check-config, --help and --version', () => {
    expect(parseServerArgs(['--check-config', 'a.yml'], proxy)).toMatchObject({ checkConfig: true, config: 'a.yml' });
    expect(parseServerArgs(['-h'], proxy).help).toBe(true);
    expect(parseServerArgs(['--version'], proxy).version).toBe(true);
  });

  it('refuses what it does not know, with the usage line', () => {
    expect(() => parseServerArgs(['--dry-run'], proxy)).toThrow(ConfigError);
    expect(() => parseServerArgs(['--dry-run'], proxy)).toThrow(`unknown argument "--dry-run". ${serverUsage(proxy)}`);
    expect(() => parseServerArgs(['a.yml', 'b.yml'], proxy)).toThrow('unknown argument "b.yml"');
    expect(() => parseServerArgs(['--config'], proxy)).toThrow('--config needs a file');
    expect(() => parseServerArgs(['--config='], proxy)).toThrow('--config needs a file');
  });

  it('writes a usage line naming commands and flags', () => {
    expect(serverUsage(registry)).toBe('usage: registry [serve|gc] [--config FILE | FILE] [--check-config] [--dry-run] [--help] [--version]');
  });
});
