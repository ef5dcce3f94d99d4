/** A quota period: the calendar month (UTC) of an instant, until billing defines billing periods. */
export interface UsagePeriod {
  start: Date;
  end: Date;
}

export function periodOf(at: Date): UsagePeriod {
  const start = new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), 1));
  const end = new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth() + 1, 1));
  return { start, end };
}
