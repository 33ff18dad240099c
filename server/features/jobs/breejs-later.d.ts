// The part of @breejs/later (Bree's schedule library, which ships no types) the scheduler uses.
declare module '@breejs/later' {
  interface ScheduleData {
    schedules: unknown[];
    exceptions: unknown[];
    /** -1 when the expression parsed; else the position of the first problem. */
    error: number;
  }
  const later: {
    parse: { cron(expression: string, hasSeconds?: boolean): ScheduleData };
    schedule(data: ScheduleData): { next(count: 1, start?: Date): Date | 0 };
    date: { localTime(): void; UTC(): void };
  };
  export default later;
}
