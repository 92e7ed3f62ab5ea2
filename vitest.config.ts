import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (path: string) => fileURLToPath(new URL(path, import.meta.url));

export default defineConfig({
  resolve: {
    // Tests import package sources; processes the tests spawn run the built dist/ (npm run build).
    alias: {
      '@gatewire/protocol': src('./protocol/src/index.ts'),
      '@gatewire/worker': src('./worker-runtime/src/index.ts'),
      '@gatewire/proxy': src('./proxy/src/index.ts'),
    },
  },
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    reporters: ['default'],
  },
});
