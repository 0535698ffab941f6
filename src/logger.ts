// pino logger with controller-runtime-like fields (level, ts, logger, msg) and redaction of secret-bearing fields.
import { pino, type Logger as PinoLogger } from 'pino';

export type Logger = PinoLogger;
export type LogLevel = 'trace' | 'debug' | 'info' | 'error' | 'warn';
export type LogEncoding = 'json' | 'console';

export const REDACT_PATHS = [
  'token', 'password', 'secret', 'headers.authorization', 'headers.Authorization',
  '*.token', '*.password', '*.secret', '*.creds', '*.nkey', '*.seed',
];

export interface LoggerOptions {
  level?: LogLevel;
  encoding?: LogEncoding;
  /** Where JSON lines go (tests capture them); defaults to stderr as controller-runtime does. */
  destination?: NodeJS.WritableStream;
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const options = {
    level: opts.level ?? 'info',
    messageKey: 'msg',
    timestamp: () => `,"ts":"${new Date().toISOString()}"`,
    formatters: { level: (label: string) => ({ level: label }) },
    base: undefined,
    redact: { paths: REDACT_PATHS, censor: '*****' },
  };
  if (opts.encoding === 'console') {
    return pino({
      ...options,
      transport: { target: 'pino-pretty', options: { colorize: process.stderr.isTTY, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname', messageKey: 'msg', destination: 2 } },
    });
  }
  return pino(options, (opts.destination as pino.DestinationStream | undefined) ?? pino.destination({ dest: 2, sync: false }));
}

/** Replaces every occurrence of each sensitive value in a text with `*****` (longest first, so prefixes do not leak). */
export function maskSecrets(text: string, sensitive: readonly string[]): string {
  let out = text;
  for (const s of [...sensitive].filter((v) => v.length >= 3).sort((a, b) => b.length - a.length)) {
    out = out.split(s).join('*****');
  }
  return out;
}

/** Parts of a URL-valued secret that servers echo on their own: the password and query values (signed URLs, webhook keys). */
export function urlCredentials(value: string): string[] {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) return [];
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return [];
  }
  const parts: string[] = [];
  if (url.password) parts.push(decodeURIComponent(url.password), url.password);
  // Short values (`?v=1`, `json`) are formats, not keys; masking them would garble messages.
  for (const v of url.searchParams.values()) if (v.length >= 8) parts.push(v);
  return parts;
}
