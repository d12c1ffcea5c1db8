/** Jest + ts-jest in ESM mode (see STACK.md). Type errors are caught by `npm run typecheck`, which `npm test` runs first. */
export default {
  preset: 'ts-jest/presets/default-esm',
  testEnvironment: 'node',
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: { '^.+\\.tsx?$': ['ts-jest', { useESM: true, diagnostics: false }] },
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  testTimeout: 60000,
  maxWorkers: 2,
  // ESM test files run in vm modules and a worker's heap grows ~100 MB a file: a worker whose heap is over this after a
  // file is replaced by a fresh one. (Most of the ~8 GB a worker reached is outside the heap, which this cannot see.)
  workerIdleMemoryLimit: '1500MB',
};
