const LEVELS: Readonly<Record<number, string>> = { 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };

/**
 * What `npm start` shows of a service's output line: warnings and errors from its JSON log
 * (as `[worker-1] WARN message`), and any line that is not JSON (a crash, a stack trace).
 * Info and debug lines stay in the log files. Undefined: show nothing.
 */
export function consoleLine(service: string, line: string): string | undefined {
  if (line.trim() === '') return undefined;
  let entry: unknown;
  try {
    entry = JSON.parse(line);
  } catch {
    return `[${service}] ${line}`;
  }
  if (typeof entry !== 'object' || entry === null) return `[${service}] ${line}`;
  const { level, msg, err } = entry as { level?: unknown; msg?: unknown; err?: unknown };
  if (typeof level !== 'number' || level < 40) return undefined;
  const name = LEVELS[level] ?? (level > 50 ? 'FATAL' : 'WARN');
  const message = typeof msg === 'string' ? msg : '';
  const detail =
    typeof err === 'object' &&
    err !== null &&
    typeof (err as { message?: unknown }).message === 'string'
      ? `: ${(err as { message: string }).message}`
      : '';
  return `[${service}] ${name} ${message}${detail}`;
}
