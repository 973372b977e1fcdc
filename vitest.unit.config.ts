// The unit lane (`npm run test:unit`): pure logic only, for the inner loop. No database is
// started (no globalSetup) and no service: a file listed here that needs one fails at once,
// on `inject('mongoUri')`. `npm test` (vitest.config.ts) still runs these with everything else.
import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: [
      'test/unit/**/*.test.ts',
      'test/runtime.test.ts',
      'test/docs/links.test.ts',
      'test/prebuilt/routes.test.ts',
      'test/runner/router.test.ts',
      'test/seed/parsers.test.ts',
      'test/embedded-mongo/planner.test.ts',
    ],
    testTimeout: 30_000,
    pool: 'forks',
  },
})
