import { describe, expect, it } from '@jest/globals';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import './drivers/index.js';
import { DriverConfigError, driverNames, validateDriverParameters } from './index.js';

describe('validateDriverParameters', () => {
  it('knows every driver', () => {
    expect(driverNames()).toEqual(['azure', 'filesystem', 'gcs', 'inmemory', 's3']);
  });

  it('accepts good parameters without reaching any service', async () => {
    // Port 1 on loopback answers nothing: validation must not try it.
    await validateDriverParameters('s3', { region: 'us-east-1', regionendpoint: 'http://127.0.0.1:1', bucket: 'registry', accesskey: 'a', secretkey: 'b' });
    await validateDriverParameters('azure', { accountname: 'acct', accountkey: Buffer.from('key').toString('base64'), container: 'registry', serviceurl: 'http://127.0.0.1:1/acct' });
    await validateDriverParameters('gcs', { bucket: 'registry', endpoint: 'http://127.0.0.1:1' });
    await validateDriverParameters('filesystem', { rootdirectory: path.join(mkdtempSync(path.join(tmpdir(), 'kuik-validate-')), 'data') });
    await validateDriverParameters('inmemory', {});
  });

  it('names the offending key', async () => {
    const err = (name: string, params: Record<string, unknown>) => validateDriverParameters(name, params).then(() => undefined, (e: unknown) => e);
    const s3 = await err('s3', { region: 'us-east-1', bucket: 's3://registry' });
    expect(s3).toBeInstanceOf(DriverConfigError);
    expect(String(s3)).toMatch(/bucket/);
    expect(String(s3)).toMatch(/s3:\/\//);
    expect(String(await err('gcs', { bucket: 'registry', keyfile: '/nonexistent/credentials.json' }))).toMatch(/keyfile/);
    expect(String(await err('azure', { accountname: 'acct', container: 'registry', typo: 1 }))).toMatch(/typo/);
    expect(String(await err('inmemory', { nmae: 'x' }))).toMatch(/nmae/);
    expect(String(await err('nosuchdriver', {}))).toMatch(/unknown storage driver "nosuchdriver"/);
  });
});
