import { pino } from 'pino';

export type Logger = pino.Logger;

/**
 * Structured JSON logs on stdout. Every line about a request carries its
 * `requestId`, so a 500's id finds its stack trace.
 */
export function createLogger(options: { level?: string | undefined } = {}): Logger {
  return pino({
    level: options.level ?? process.env.LOG_LEVEL ?? 'info',
    base: { service: 'recsys' },
    timestamp: pino.stdTimeFunctions.isoTime,
  });
}
