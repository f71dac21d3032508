// Graceful shutdown: on SIGTERM/SIGINT run the registered steps in order (stop accepting,
// drain, release), bounded by a deadline after which the process exits anyway.
import type { Logger } from './logger.js';

export type ShutdownStep = { name: string; run: () => Promise<void> };

export function onShutdown(logger: Logger, steps: ShutdownStep[], deadlineMs = 25_000): () => Promise<void> {
  let started: Promise<void> | undefined;
  const shutdown = () => {
    started ??= (async () => {
      const timer = setTimeout(() => {
        logger.error('shutdown deadline exceeded; exiting', { deadlineMs });
        process.exit(1);
      }, deadlineMs);
      timer.unref();
      for (const step of steps) {
        try {
          await step.run();
          logger.info('shutdown step done', { step: step.name });
        } catch (err) {
          logger.error('shutdown step failed', { step: step.name, err });
        }
      }
      clearTimeout(timer);
    })();
    return started;
  };
  for (const sig of ['SIGTERM', 'SIGINT'] as const) {
    process.once(sig, () => {
      logger.info('signal received, shutting down', { signal: sig });
      void shutdown().then(() => process.exit(0));
    });
  }
  return shutdown;
}
