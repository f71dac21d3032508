// A small five-field cron expression (minute hour day-of-month month day-of-week, in UTC), enough
// for a maintenance schedule: numbers, "*", lists "a,b", ranges "a-b", steps "*/n" and "a-b/n",
// and the macros @hourly, @daily, @weekly, @monthly. Day-of-month and day-of-week combine as in
// Vixie cron: when both are restricted, a day matching either one matches.
export interface CronSchedule {
  source: string;
  /** The first matching minute strictly after `after`, or null when none within 5 years. */
  next(after: Date): Date | null;
}

const MACROS: Record<string, string> = {
  '@hourly': '0 * * * *',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@weekly': '0 0 * * 0',
  '@monthly': '0 0 1 * *',
};

const FIELDS = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12 },
  // 7 is Sunday too.
  { name: 'day of week', min: 0, max: 7 },
] as const;

export class CronError extends Error {}

export function parseCron(source: string): CronSchedule {
  const expanded = MACROS[source.trim()] ?? source.trim();
  const parts = expanded.split(/\s+/);
  if (parts.length !== 5) throw new CronError(`expected 5 fields (minute hour day month weekday) or a macro, got ${JSON.stringify(source)}`);
  const sets = parts.map((p, i) => parseField(p, FIELDS[i]!));
  const [minutes, hours, days, months, weekdays] = sets as [Set<number>, Set<number>, Set<number>, Set<number>, Set<number>];
  if (weekdays.has(7)) weekdays.add(0);
  const domAny = parts[2] === '*';
  const dowAny = parts[4] === '*';
  const dayMatches = (d: Date): boolean => {
    const dom = days.has(d.getUTCDate());
    const dow = weekdays.has(d.getUTCDay());
    if (domAny && dowAny) return true;
    if (domAny) return dow;
    if (dowAny) return dom;
    return dom || dow;
  };
  return {
    source,
    next(after: Date): Date | null {
      const t = new Date(after.getTime());
      t.setUTCSeconds(0, 0);
      t.setUTCMinutes(t.getUTCMinutes() + 1);
      const limit = after.getTime() + 5 * 366 * 86_400_000;
      // Skips whole days and hours that cannot match, so this is a few thousand steps at most.
      while (t.getTime() <= limit) {
        if (!months.has(t.getUTCMonth() + 1) || !dayMatches(t)) {
          t.setUTCHours(0, 0, 0, 0);
          t.setUTCDate(t.getUTCDate() + 1);
          continue;
        }
        if (!hours.has(t.getUTCHours())) {
          t.setUTCMinutes(0, 0, 0);
          t.setUTCHours(t.getUTCHours() + 1);
          continue;
        }
        if (minutes.has(t.getUTCMinutes())) return t;
        t.setUTCMinutes(t.getUTCMinutes() + 1);
      }
      return null;
    },
  };
}

function parseField(text: string, field: (typeof FIELDS)[number]): Set<number> {
  const out = new Set<number>();
  for (const item of text.split(',')) {
    const m = /^(\*|(\d+)(?:-(\d+))?)(?:\/(\d+))?$/.exec(item);
    if (!m) throw new CronError(`${field.name}: cannot read ${JSON.stringify(item)}`);
    const step = m[4] === undefined ? 1 : Number(m[4]);
    let lo: number = field.min;
    let hi: number = field.max;
    if (m[1] !== '*') {
      lo = Number(m[2]);
      hi = m[3] === undefined ? (m[4] === undefined ? lo : field.max) : Number(m[3]);
    }
    if (lo < field.min || hi > field.max || lo > hi || step < 1) {
      throw new CronError(`${field.name}: ${JSON.stringify(item)} is outside ${field.min}-${field.max}`);
    }
    for (let v = lo; v <= hi; v += step) out.add(v);
  }
  return out;
}
