// Structured logs (pino). Secrets never go into a log line: redact the usual suspects.
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(name: string, level = process.env.LOG_LEVEL ?? 'info'): Logger {
  return pino({
    name,
    level,
    redact: { paths: ['password', 'token', 'secret', 'secretKey', 'authorization', '*.password', '*.token', '*.secret', '*.secretKey', 'req.headers.authorization'], censor: '[redacted]' },
  });
}

/** A logger that drops everything (tests, embedded use). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
