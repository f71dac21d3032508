// Structured JSON logs, one object per line on stdout (stderr for errors), with a stable shape:
// {"time":"…","level":"info","component":"registry","msg":"…", …fields}. No dependency.
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** A logger that adds these fields to every line. */
  child(fields: LogFields): Logger;
  readonly level: LogLevel;
}

export interface LoggerOptions {
  component: string;
  level?: LogLevel;
  /** Where lines go; defaults to process.stdout / process.stderr. */
  sink?: (line: string, level: LogLevel) => void;
}

export function isLogLevel(v: unknown): v is LogLevel {
  return typeof v === 'string' && v in ORDER;
}

export function createLogger(options: LoggerOptions): Logger {
  const level = options.level ?? 'info';
  const sink =
    options.sink ??
    ((line: string, l: LogLevel) => (l === 'error' ? process.stderr : process.stdout).write(line + '\n'));
  const make = (base: LogFields): Logger => {
    const emit = (l: LogLevel, msg: string, fields?: LogFields) => {
      if (ORDER[l] < ORDER[level]) return;
      const rec: LogFields = { time: new Date().toISOString(), level: l, component: options.component, msg, ...base };
      if (fields) for (const [k, v] of Object.entries(fields)) rec[k] = v instanceof Error ? serializeError(v) : v;
      sink(safeStringify(rec), l);
    };
    return {
      level,
      debug: (m, f) => emit('debug', m, f),
      info: (m, f) => emit('info', m, f),
      warn: (m, f) => emit('warn', m, f),
      error: (m, f) => emit('error', m, f),
      child: (fields) => make({ ...base, ...fields }),
    };
  };
  return make({});
}

export function serializeError(e: Error): LogFields {
  const out: LogFields = { name: e.name, message: e.message };
  const code = (e as { code?: unknown }).code;
  if (code !== undefined) out['code'] = code;
  if (e.cause instanceof Error) out['cause'] = serializeError(e.cause);
  return out;
}

function safeStringify(rec: LogFields): string {
  try {
    return JSON.stringify(rec, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
  } catch {
    return JSON.stringify({ time: rec['time'], level: rec['level'], component: rec['component'], msg: String(rec['msg']) });
  }
}

/** A logger that drops everything (tests, libraries used without logging). */
export const silentLogger: Logger = createLogger({ component: 'silent', level: 'error', sink: () => undefined });
