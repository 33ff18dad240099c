// Loaded before the server (`node --import ./server/module-hooks.ts server/main.ts`): loads drizzle-orm
// through its CommonJS build. Node's ESM resolver (24 and 26 alike) re-reads a package's package.json
// "exports" for every module it loads from that package; drizzle-orm has hundreds of modules and a 180 KB
// exports map, so its ESM build leaves ~170 MB of garbage at start-up and the process at ~330 MB RSS
// instead of ~110 MB. The CommonJS build is the same code, and its named exports import unchanged.
import { registerHooks } from 'node:module';

registerHooks({
  resolve(specifier, context, next) {
    if (specifier === 'drizzle-orm' || specifier.startsWith('drizzle-orm/')) {
      return next(specifier, { ...context, conditions: ['require', 'node', 'default'] });
    }
    return next(specifier, context);
  },
});
