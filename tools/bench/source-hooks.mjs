// Lets plain `node` run the workspace's TypeScript sources (Node 24 strips the types itself):
// workspace packages resolve through their "@kuik/source" export condition, and sources'
// nodenext-style './x.js' imports resolve to the './x.ts' file beside them.
import { registerHooks } from 'node:module';

registerHooks({
  resolve(specifier, context, nextResolve) {
    const ctx = { ...context, conditions: [...(context.conditions ?? []), '@kuik/source'] };
    try {
      return nextResolve(specifier, ctx);
    } catch (e) {
      if (e?.code !== 'ERR_MODULE_NOT_FOUND' || !/^(\.|\/|file:)/.test(specifier) || !specifier.endsWith('.js')) throw e;
      return nextResolve(`${specifier.slice(0, -3)}.ts`, ctx);
    }
  },
});
