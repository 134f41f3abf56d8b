import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Integration tests start a broker with its embedded store; CDK tests bundle every function.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    // `npm run coverage`: what the tests exercise of the broker's own code (V8's counters, no
    // instrumentation). The README names the branches of domain/ and use-cases/ left untested.
    coverage: {
      provider: 'v8',
      include: ['functions/**/*.ts'],
      exclude: ['functions/**/*.d.ts'],
      reporter: ['text-summary', 'text'],
    },
  },
});
