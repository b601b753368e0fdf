/** Which calendar day ends a session. */
export type DayBoundary = 'local' | 'utc';

/** A stored session: id and time of last activity (ms). */
export interface SessionRecord {
  id: string;
  last: number;
}

function dayKey(ms: number, boundary: DayBoundary): string {
  const d = new Date(ms);
  return boundary === 'utc' ? d.toISOString().slice(0, 10) : d.toDateString();
}

/** A session ends after `timeout` ms without activity, or when the calendar day changes. */
export function isSessionExpired(
  session: SessionRecord,
  now: number,
  timeout: number,
  boundary: DayBoundary,
): boolean {
  return now - session.last > timeout || dayKey(now, boundary) !== dayKey(session.last, boundary);
}

export function parseSession(raw: string | null): SessionRecord | null {
  if (!raw) return null;
  try {
    const s = JSON.parse(raw) as Partial<SessionRecord>;
    return typeof s.id === 'string' && typeof s.last === 'number' ? { id: s.id, last: s.last } : null;
  } catch {
    return null;
  }
}
