/**
 * Benchmark output: stdout carries only JSON lines (one per result), so it can
 * be piped into a file or jq; everything for humans goes to stderr.
 */

export type ResultLine = { bench: string } & Record<string, string | number | boolean>;

export function emit(result: ResultLine): void {
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

export function progress(message: string): void {
  process.stderr.write(`${message}\n`);
}

/**
 * Anything a library prints with console.log during a bench would corrupt the
 * JSON stream: send console output to stderr for the whole run.
 */
export function keepStdoutForResults(): void {
  const toStderr = (...args: unknown[]) => console.error(...args);
  console.log = toStderr;
  console.info = toStderr;
  console.debug = toStderr;
  console.warn = toStderr;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
