import { describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { waitForListening } from './index.js';

const node = (script: string) => spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });

describe('waitForListening', () => {
  it('returns the address of the listening line and keeps draining stdout', async () => {
    const child = node(`console.log('starting'); console.log(JSON.stringify({ msg: 'x listening', addr: '127.0.0.1:5' })); console.log('after');`);
    const lines: string[] = [];
    const addr = await waitForListening(child, { message: 'x listening', what: 'x', output: () => '', onLine: (l) => lines.push(l) });
    expect(addr).toBe('127.0.0.1:5');
    await new Promise((r) => child.once('exit', r));
    expect(lines).toEqual(['starting', JSON.stringify({ msg: 'x listening', addr: '127.0.0.1:5' }), 'after']);
  });

  it('fails with the output when the process exits first', async () => {
    const child = node(`console.error('bad config'); process.exit(2);`);
    let err = '';
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    await expect(waitForListening(child, { message: 'x listening', what: 'x', output: () => err })).rejects.toThrow(/x exited with 2 before listening:\n[\s\S]*bad config/);
  });

  it('fails after its timeout when the process never listens', async () => {
    const child = node(`setTimeout(() => undefined, 5000);`);
    try {
      await expect(waitForListening(child, { message: 'x listening', what: 'x', output: () => 'silence', timeoutMs: 200 })).rejects.toThrow('x did not start within 0.2 s:\nsilence');
    } finally {
      child.kill();
    }
  });
});
