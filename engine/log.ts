// The one logger. Lines go to stderr as JSON so a host can forward or filter them; the level
// comes from NOTES_LOG (debug, info, warn, error, silent), default info.

export type Level = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<Level | 'silent', number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

function threshold(): number {
  const env = process.env.NOTES_LOG as Level | 'silent' | undefined;
  return ORDER[env ?? 'info'] ?? ORDER.info;
}

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

export function logger(component: string): Logger {
  const write = (level: Level, msg: string, fields: Record<string, unknown> = {}): void => {
    if (ORDER[level] < threshold()) return;
    const extra = Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, v instanceof Error ? { message: v.message, code: (v as { code?: string }).code } : v]));
    process.stderr.write(`${JSON.stringify({ t: new Date().toISOString(), level, component, msg, ...extra })}\n`);
  };
  return {
    debug: (m, f) => write('debug', m, f),
    info: (m, f) => write('info', m, f),
    warn: (m, f) => write('warn', m, f),
    error: (m, f) => write('error', m, f),
  };
}
