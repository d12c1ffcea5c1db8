/**
 * A test-only hook for crash tests: with GATEHOUSE_TEST_PAUSE_AT=<step> the
 * process prints `GATEHOUSE_PAUSED <step>` on stdout when a request reaches
 * that step and holds the request there, so a test can SIGKILL the instance
 * at exactly that point of a unit of work. Ignored under NODE_ENV=production
 * (the Docker image), so no production setting can hold a request.
 */
const pauseAt = process.env.NODE_ENV === 'production' ? undefined : process.env.GATEHOUSE_TEST_PAUSE_AT;

export const PAUSED_MARKER = 'GATEHOUSE_PAUSED';

/** True when a step may be held (a crash test runs): units of work then keep their steps apart (./token-units.ts). */
export function pausesArmed(): boolean {
  return pauseAt !== undefined;
}

export async function pausePoint(step: string): Promise<void> {
  if (pauseAt === undefined || pauseAt !== step) return;
  process.stdout.write(`${PAUSED_MARKER} ${step}\n`);
  // Held until the test kills the process.
  await new Promise<never>(() => undefined);
}
