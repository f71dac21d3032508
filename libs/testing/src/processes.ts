// Servers the tests start from their bundles (dist/apps/<app>/main.js) log one JSON line when they
// listen, e.g. {"msg":"registry listening","addr":"127.0.0.1:41234"}. This waits for that line and
// returns its address; it fails with the process's recent output when the process exits first or
// does not listen in time.
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface ListeningOptions {
  /** The log message that announces the listener ("registry listening"). */
  message: string;
  /** Name used in errors ("registry"). */
  what: string;
  /** Recent output of the process, for the error message. */
  output: () => string;
  /** Every stdout line, including those after the listener is up (the stream is always drained). */
  onLine?: (line: string) => void;
  timeoutMs?: number;
}

/** Resolves with the `addr` field of the first stdout JSON line whose `msg` is `message`. */
export function waitForListening(child: ChildProcess, o: ListeningOptions): Promise<string> {
  const timeoutMs = o.timeoutMs ?? 15_000;
  return new Promise<string>((resolve, reject) => {
    const onExit = (code: number | null) => {
      clearTimeout(timer);
      reject(new Error(`${o.what} exited with ${code} before listening:\n${o.output()}`));
    };
    const timer = setTimeout(() => {
      child.off('exit', onExit);
      reject(new Error(`${o.what} did not start within ${timeoutMs / 1000} s:\n${o.output()}`));
    }, timeoutMs);
    child.once('exit', onExit);
    let found = false;
    createInterface({ input: child.stdout! }).on('line', (line) => {
      o.onLine?.(line);
      if (found) return;
      let rec: { msg?: unknown; addr?: unknown };
      try {
        rec = JSON.parse(line) as typeof rec;
      } catch {
        return; // not a log line
      }
      if (rec.msg === o.message && typeof rec.addr === 'string') {
        found = true;
        clearTimeout(timer);
        child.off('exit', onExit);
        resolve(rec.addr);
      }
    });
  });
}
