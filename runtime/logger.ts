// Structured logs (pino). Secrets never go into a log line: redact the usual suspects.
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(name: string, level = process.env.LOG_LEVEL ?? 'info'): Logger {
  return pino({
    name,
    level,
    // Request lines carry `?token=` on the event stream (EventSource cannot send headers).
    serializers: { req: (req: { method?: string; url?: string; ip?: string }) => ({ method: req.method, url: redactQueryToken(req.url ?? ''), remoteAddress: req.ip }) },
    redact: { paths: ['password', 'token', 'secret', 'secretKey', 'authorization', '*.password', '*.token', '*.secret', '*.secretKey', 'req.headers.authorization'], censor: '[redacted]' },
  });
}

/** A logger that drops everything (tests, embedded use). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

/**
 * The URL with any `token` query parameter's value replaced: request logs must not keep the
 * `?token=` an EventSource has to send (for the app's request serializer).
 */
export function redactQueryToken(url: string): string {
  return url.replace(/([?&]token=)[^&#]*/g, '$1[redacted]');
}
