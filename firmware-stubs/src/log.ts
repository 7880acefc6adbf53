export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface LogEntry {
  level: LogLevel;
  /** `kind/id` of the device, or `fleet` / `scenario`. */
  source: string;
  message: string;
}

/** Devices are silent by default: a library must not write to the test runner's stderr. */
export type Logger = (entry: LogEntry) => void;

export const silentLogger: Logger = () => {};

const RANK: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

/** One readable line per entry on stderr, e.g. `2025-01-01T10:00:00.000Z INFO  door/door-1  relay unlocked`. */
export function stderrLogger(minLevel: LogLevel = 'info'): Logger {
  return ({ level, source, message }) => {
    if (RANK[level] < RANK[minLevel]) return;
    process.stderr.write(
      `${new Date().toISOString()} ${level.toUpperCase().padEnd(5)} ${source.padEnd(22)} ${message}\n`,
    );
  };
}
