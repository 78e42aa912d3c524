// What a configuration reload cannot put in force: the settings that differ between the file a process
// started with and the file read again, minus those the service applies live. Shared by the reloads of
// connector, relay and collector, so each names restart-only settings the same way ("section.key").
import { canonicalJson } from '../audit/canonical-json.js';

/**
 * The settings (as "section.key", two levels deep) whose values differ between the configuration a process
 * started with and a reloaded one, except those `live` says a reload puts in force: what needs a restart.
 */
export function restartNeeded(started: object, next: object, live: (path: string, before: unknown, after: unknown) => boolean): string[] {
  const a = started as Record<string, unknown>;
  const b = next as Record<string, unknown>;
  const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  const differs = (x: unknown, y: unknown): boolean => canonicalJson(x ?? null) !== canonicalJson(y ?? null);
  const out: string[] = [];
  for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
    const x = a[key];
    const y = b[key];
    if (!isObject(x) || !isObject(y)) {
      if (differs(x, y) && !live(key, x, y)) out.push(key);
      continue;
    }
    for (const sub of new Set([...Object.keys(x), ...Object.keys(y)])) {
      if (differs(x[sub], y[sub]) && !live(`${key}.${sub}`, x[sub], y[sub])) out.push(`${key}.${sub}`);
    }
  }
  return out.sort();
}
