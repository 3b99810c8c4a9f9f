import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// Examples import the package by name (`switchboard/server`); point those at the sources, as
// the `source` export condition does for tsx and tsc.
const pkg = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8')) as {
  exports: Record<string, { source: string }>;
};
const alias = Object.entries(pkg.exports).map(([subpath, target]) => ({
  find: new RegExp(`^switchboard${subpath.slice(1).replace(/\//g, '\\/')}$`),
  replacement: fileURLToPath(new URL(target.source, import.meta.url)),
}));

export default defineConfig({
  resolve: { alias },
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['./test/support/redis-setup.ts'],
    reporters: ['default', './test/support/summary-reporter.ts'],
    testTimeout: 20_000,
    hookTimeout: 20_000,
  },
});
