// What every step returns, and the small tools the steps share: verdict builders, timers, address text.
import net from 'node:net';
import type { StepOutcome } from '../types.js';
import type { DoctorClassification } from '../classifications.js';

/** A step's verdict before run-check (or doctor) adds its name, timing and fix. */
export interface StepResult<C extends DoctorClassification = DoctorClassification> {
  readonly outcome: StepOutcome;
  readonly classification: C;
  readonly message: string;
  readonly detail: Record<string, unknown>;
}

export function ok(message: string, detail: Record<string, unknown> = {}): StepResult<'ok'> {
  return { outcome: 'ok', classification: 'ok', message, detail };
}

export function fail<C extends DoctorClassification>(classification: C, message: string, detail: Record<string, unknown> = {}): StepResult<C> {
  return { outcome: 'fail', classification, message, detail };
}

export function warn<C extends DoctorClassification>(classification: C, message: string, detail: Record<string, unknown> = {}): StepResult<C> {
  return { outcome: 'warn', classification, message, detail };
}

export function skipped(message: string, detail: Record<string, unknown> = {}): StepResult<'ok'> {
  return { outcome: 'skipped', classification: 'ok', message, detail };
}

/** host:port with IPv6 addresses in brackets, as people type them. */
export function hostPort(host: string, port: number): string {
  return net.isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Milliseconds since a performance.now() mark, rounded to whole ms (the report's unit). */
export function since(start: number): number {
  return Math.max(0, Math.round(performance.now() - start));
}

/** "ENOTFOUND" or "" from anything thrown. */
export function errorCode(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' ? code : '';
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Text a peer sent, safe to show on one line: control bytes escaped, at most max characters. */
export function printable(data: Buffer | string, max = 120): string {
  const text = typeof data === 'string' ? data : data.toString('latin1');
  // eslint-disable-next-line no-control-regex
  const escaped = text.slice(0, max).replace(/\r/g, '\\r').replace(/\n/g, '\\n').replace(/[\x00-\x1f\x7f-\x9f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  return text.length > max ? `${escaped}…` : escaped;
}

/** The error of a timer we raced against: a step names it by this code. */
export const STEP_TIMEOUT = 'TW_STEP_TIMEOUT';

/** Races a promise against a timer; the timer's rejection carries code STEP_TIMEOUT. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const err: NodeJS.ErrnoException = new Error(`${what}: no answer within ${ms} ms`);
      err.code = STEP_TIMEOUT;
      reject(err);
    }, ms);
    timer.unref();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Days from now until a date, rounded down (negative once it has passed). */
export function daysUntil(date: Date, now: Date): number {
  return Math.floor((date.getTime() - now.getTime()) / 86_400_000);
}
