// Local time, public holidays and month-ends of a subaccount: its traffic follows its own office hours,
// in its own time zone (with daylight saving time), not UTC.

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

export interface LocalTime {
  /** Local hour of day with fraction (14.5 = 14:30). */
  readonly hour: number;
  /** 0 = Sunday ... 6 = Saturday. */
  readonly weekday: number;
  /** Local calendar date, YYYY-MM-DD. */
  readonly date: string;
}

/** UTC -> local time of one time zone; Intl is slow, so the offset is computed once per UTC hour. */
export class LocalClock {
  private readonly format: Intl.DateTimeFormat;
  private readonly offsets = new Map<number, number>();

  constructor(readonly timeZone: string) {
    this.format = new Intl.DateTimeFormat('en-US', {
      timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit',
    });
  }

  /** Minutes to add to UTC to get local time, at that instant. */
  offsetMinutes(utcMs: number): number {
    const hourKey = Math.floor(utcMs / HOUR);
    let offset = this.offsets.get(hourKey);
    if (offset === undefined) {
      const parts: Record<string, number> = {};
      for (const p of this.format.formatToParts(new Date(hourKey * HOUR))) if (p.type !== 'literal') parts[p.type] = Number(p.value);
      const localAsUtc = Date.UTC(parts.year ?? 1970, (parts.month ?? 1) - 1, parts.day ?? 1, parts.hour ?? 0, parts.minute ?? 0);
      offset = Math.round((localAsUtc - hourKey * HOUR) / 60_000);
      this.offsets.set(hourKey, offset);
    }
    return offset;
  }

  at(utcMs: number): LocalTime {
    const local = new Date(utcMs + this.offsetMinutes(utcMs) * 60_000);
    return {
      hour: local.getUTCHours() + local.getUTCMinutes() / 60,
      weekday: local.getUTCDay(),
      date: local.toISOString().slice(0, 10),
    };
  }

  /** The UTC instant of local `date` (YYYY-MM-DD) at local `hour` (fractional). */
  utcOf(date: string, hour: number): number {
    const naive = Date.parse(`${date}T00:00:00Z`) + hour * HOUR;
    // Two passes settle the offset across a daylight-saving change.
    let utc = naive - this.offsetMinutes(naive) * 60_000;
    utc = naive - this.offsetMinutes(utc) * 60_000;
    return utc;
  }
}

function nthWeekday(year: number, month: number, weekday: number, n: number): string {
  // n > 0: the n-th such weekday of the month; n = -1: the last one.
  if (n > 0) {
    const first = new Date(Date.UTC(year, month - 1, 1)).getUTCDay();
    const day = 1 + ((weekday - first + 7) % 7) + 7 * (n - 1);
    return `${pad(month)}-${pad(day)}`;
  }
  const lastDay = new Date(Date.UTC(year, month, 0));
  const day = lastDay.getUTCDate() - ((lastDay.getUTCDay() - weekday + 7) % 7);
  return `${pad(month)}-${pad(day)}`;
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}

/** Public holidays (MM-DD -> name) of the countries the regions use; movable feasts by rule, Easter left out. */
function holidaysOf(country: string, year: number): Map<string, string> {
  const fixed: Record<string, Record<string, string>> = {
    DE: { '01-01': "New Year's Day", '05-01': 'Labour Day', '10-03': 'German Unity Day', '12-25': 'Christmas Day', '12-26': 'Boxing Day' },
    US: { '01-01': "New Year's Day", '07-04': 'Independence Day', '12-25': 'Christmas Day' },
    GB: { '01-01': "New Year's Day", '12-25': 'Christmas Day', '12-26': 'Boxing Day' },
    JP: { '01-01': "New Year's Day", '02-11': 'National Foundation Day', '04-29': 'Showa Day', '05-03': 'Constitution Day', '05-05': "Children's Day", '11-03': 'Culture Day', '11-23': 'Labour Thanksgiving Day' },
    IN: { '01-26': 'Republic Day', '08-15': 'Independence Day', '10-02': 'Gandhi Jayanti', '12-25': 'Christmas' },
    BR: { '01-01': 'Confraternização Universal', '04-21': 'Tiradentes', '05-01': 'Dia do Trabalho', '09-07': 'Independência', '10-12': 'Nossa Senhora Aparecida', '11-02': 'Finados', '11-15': 'Proclamação da República', '11-20': 'Consciência Negra', '12-25': 'Natal' },
    FR: { '01-01': "Jour de l'an", '05-01': 'Fête du Travail', '05-08': 'Victoire 1945', '07-14': 'Fête nationale', '08-15': 'Assomption', '11-01': 'Toussaint', '11-11': 'Armistice', '12-25': 'Noël' },
    AU: { '01-01': "New Year's Day", '01-26': 'Australia Day', '04-25': 'Anzac Day', '12-25': 'Christmas Day', '12-26': 'Boxing Day' },
  };
  const out = new Map(Object.entries(fixed[country] ?? {}));
  if (country === 'US') {
    out.set(nthWeekday(year, 1, 1, 3), 'Martin Luther King Jr. Day');
    out.set(nthWeekday(year, 5, 1, -1), 'Memorial Day');
    out.set(nthWeekday(year, 9, 1, 1), 'Labor Day');
    out.set(nthWeekday(year, 11, 4, 4), 'Thanksgiving Day');
  } else if (country === 'GB') {
    out.set(nthWeekday(year, 5, 1, 1), 'Early May bank holiday');
    out.set(nthWeekday(year, 5, 1, -1), 'Spring bank holiday');
    out.set(nthWeekday(year, 8, 1, -1), 'Summer bank holiday');
  } else if (country === 'JP') {
    out.set(nthWeekday(year, 9, 1, 3), 'Respect for the Aged Day');
    out.set(nthWeekday(year, 10, 1, 2), 'Sports Day');
  }
  return out;
}

/** Which local dates are days off and which are busy month-end days, for one subaccount. */
export class BusinessCalendar {
  private readonly extra = new Map<string, string>();
  private readonly years = new Map<number, Map<string, string>>();
  // Asked for every simulated minute: answers are kept per date (a few hundred at most).
  private readonly business = new Map<string, boolean>();
  private readonly monthEnd = new Map<string, boolean>();

  constructor(readonly country: string) {}

  /** Adds a company-wide day off (a bridge day, an offsite) that no public calendar knows. */
  addDayOff(date: string, name: string): void {
    this.extra.set(date, name);
    this.business.clear();
    this.monthEnd.clear();
  }

  /** The holiday's name, or undefined on a normal day. */
  holiday(date: string): string | undefined {
    const year = Number(date.slice(0, 4));
    let days = this.years.get(year);
    if (!days) {
      days = holidaysOf(this.country, year);
      this.years.set(year, days);
    }
    return this.extra.get(date) ?? days.get(date.slice(5));
  }

  isBusinessDay(date: string): boolean {
    let yes = this.business.get(date);
    if (yes === undefined) {
      const weekday = new Date(`${date}T00:00:00Z`).getUTCDay();
      yes = weekday !== 0 && weekday !== 6 && this.holiday(date) === undefined;
      this.business.set(date, yes);
    }
    return yes;
  }

  /** The last two business days of the month: closing the books. */
  isMonthEnd(date: string): boolean {
    let yes = this.monthEnd.get(date);
    if (yes === undefined) {
      let later = 0;
      for (let t = Date.parse(`${date}T00:00:00Z`) + DAY; ; t += DAY) {
        const d = new Date(t).toISOString().slice(0, 10);
        if (d.slice(0, 7) !== date.slice(0, 7)) break;
        if (this.isBusinessDay(d)) later++;
      }
      yes = this.isBusinessDay(date) && later < 2;
      this.monthEnd.set(date, yes);
    }
    return yes;
  }
}

/** Local dates covered by [fromMs, toMs) in a time zone. */
export function localDates(clock: LocalClock, fromMs: number, toMs: number): string[] {
  const out: string[] = [];
  for (let t = fromMs; t < toMs; t += HOUR) {
    const d = clock.at(t).date;
    if (out[out.length - 1] !== d) out.push(d);
  }
  return out;
}
