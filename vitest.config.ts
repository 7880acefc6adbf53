import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const pkg = (name: string) => fileURLToPath(new URL(`./${name}/src/index.ts`, import.meta.url));

export default defineConfig({
  resolve: {
    // Tests run against the sources of sibling packages, not their built dist/.
    alias: {
      '@estate/protocols': pkg('protocols'),
      '@estate/models': pkg('models'),
      '@estate/firmware-stubs': pkg('firmware-stubs'),
      '@estate/edge': pkg('edge'),
      '@estate/cloud': pkg('cloud'),
    },
  },
  test: {
    include: ['*/test/**/*.test.ts'],
    // 2 cores: two workers keep broker/DB tests from starving each other.
    maxWorkers: 2,
    testTimeout: 20_000,
    hookTimeout: 30_000,
  },
});
