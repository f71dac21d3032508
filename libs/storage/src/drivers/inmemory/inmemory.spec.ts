import { describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { describeDriverConformance } from '../../conformance/index.js';
import { createDriver } from '../../factory.js';
import { isStorageError } from '../../errors.js';
import './index.js';

// One named tree for the whole file: a second createDriver() with the same name is the
// "restarted process" the conformance suite reopens uploads from.
const name = `spec-${randomBytes(4).toString('hex')}`;
describeDriverConformance('inmemory', () => createDriver('inmemory', { name }), { holdsContentInMemory: true });

describe('inmemory driver', () => {
  it('gives every unnamed driver its own tree', async () => {
    const a = await createDriver('inmemory');
    const b = await createDriver('inmemory');
    await a.putContent('/x', Buffer.from('a'));
    expect((await a.getContent('/x')).toString()).toBe('a');
    await expect(b.stat('/x')).rejects.toMatchObject({ code: 'PathNotFound' });
  });

  it('rejects unknown parameters, naming them', async () => {
    const e = await createDriver('inmemory', { rootdirectory: '/tmp' }).catch((err: unknown) => err);
    expect(e).toMatchObject({ name: 'DriverConfigError', key: 'rootdirectory' });
    expect(isStorageError(e)).toBe(false);
  });

  it('keeps stored bytes independent of the caller’s buffers', async () => {
    const d = await createDriver('inmemory');
    const put = Buffer.from('original');
    await d.putContent('/p', put);
    put.fill(0);
    const chunk = Buffer.from('chunk');
    const w = await d.writer('/w', false);
    await w.write(chunk);
    chunk.fill(0);
    await w.write(Buffer.alloc(3, 0x41)); // packs into the same page as the first chunk
    await w.commit();
    expect((await d.getContent('/p')).toString()).toBe('original');
    expect((await d.getContent('/w')).toString()).toBe('chunkAAA');
  });
});
