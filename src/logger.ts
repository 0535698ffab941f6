// pino logger with controller-runtime-like fields (level, ts, logger, msg) and redaction of secret-bearing fields.
import { pino, type Logger as PinoLogger } from 'pino';
import { logLinesDroppedTotal } from './metrics.js';

/** Bytes of log lines waiting for stderr before further lines are dropped. */
export const MAX_LOG_BUFFER = 32 * 1024 * 1024;

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
  if (opts.destination) return pino(options, opts.destination as pino.DestinationStream);
  // Asynchronous writes with a bounded buffer: when stderr cannot keep up, lines past MAX_LOG_BUFFER are dropped
  // (and counted) instead of held in memory without limit.
  const dest = pino.destination({ dest: 2, sync: false, maxLength: MAX_LOG_BUFFER });
  dest.on('drop', () => logLinesDroppedTotal.inc());
  return pino(options, dest);
}

/** Longest event message a log line quotes; the rest is cut and its full length logged beside it. */
export const MAX_LOGGED_MESSAGE = 1024;
/** Longest error text a log line or Warning Event quotes (errors quote response bodies, already cut to 2 KiB). */
export const MAX_LOGGED_ERROR = 4096;

/** `text` when at most `max` characters, else its first `max` characters and how many more there were. */
export function excerpt(text: string, max: number): string {
  if (text.length <= max) return text;
  // Do not cut a surrogate pair in half.
  const end = /[\uD800-\uDBFF]/.test(text[max - 1] ?? '') ? max - 1 : max;
  return `${text.slice(0, end)}... (${text.length - end} more characters)`;
}

/** An event message for a log line: a bounded excerpt and the full length. */
export function loggedMessage(message: string): { message: string; messageLength: number } {
  return { message: excerpt(message, MAX_LOGGED_MESSAGE), messageLength: message.length };
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
