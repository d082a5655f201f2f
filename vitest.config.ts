import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['__tests__/**/*.test.ts', 'emulator/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 180_000,
    // pip runs are CPU-heavy; two cores here and on CI
    maxWorkers: 2,
    reporters: ['default', './__tests__/support/count-reporter.ts']
  }
})
