/** Jest + ts-jest in ESM mode (see STACK.md). Type errors are caught by `npm run typecheck`, which `npm test` runs first. */
export default {
  preset: 'ts-jest/presets/default-esm',
  testEnvironment: 'node',
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: { '^.+\\.tsx?$': ['ts-jest', { useESM: true, diagnostics: false }] },
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  testTimeout: 60000,
  maxWorkers: 2,
  // ESM test files run in vm modules, whose module graphs a worker keeps: without a limit each worker grew to ~10 GB
  // over the suite and spent its time in GC. A worker over this after a file is replaced by a fresh one.
  workerIdleMemoryLimit: '1500MB',
};
