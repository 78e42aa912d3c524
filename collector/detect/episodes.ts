// From hits (one entity, one window) to findings (one entity, one episode): adjacent unusual windows of the
// same detector and entity become one finding spanning them, named by its first window, so a long
// anomaly is one line for the analyst and a re-run finds the same id. When one burst shows through
// several entity types of one detector, only the most unusual of them is kept (detector.ts).
import { createHash } from 'node:crypto';
import type { Detector, Hit } from './detector.js';
import { capScore, capSeverity, severityOfScore } from './score.js';
import { isoOf } from './sql.js';
import type { Finding } from './types.js';

/** sha256 of detector|subaccount|entity_type|entity|window_start, 32 hex digits. */
export function findingId(detector: string, subaccount: string, entityType: string, entity: string, windowStartMs: number): string {
  return createHash('sha256').update(`${detector}|${subaccount}|${entityType}|${entity}|${isoOf(windowStartMs)}`).digest('hex').slice(0, 32);
}

/**
 * Keeps, among hits of one detector in the same subaccount and window whose observed values are within
 * 25 % of each other (one burst seen as app, principal and client IP), one; the others are named in its
 * evidence as `also_seen_as`. Kept first: a principal or address new to the subaccount that day (an
 * attacker's fresh address, hits.ts); then the type the detector lists first (the most specific: the
 * person before the address before the app that carried the calls); then the highest score. Within 25 %
 * each of them accounts for the burst, and a few ordinary refusals of other users that make the app's
 * count (and score) a little higher must not hide who did it.
 */
export function dedupeEntityTypes(detector: Detector, hits: readonly Hit[]): Hit[] {
  const order = detector.entityPreference;
  if (!order || order.length < 2) return [...hits];
  const rank = (h: Hit) => {
    const i = order.indexOf(h.entity_type);
    return i < 0 ? order.length : i;
  };
  const fresh = (h: Hit) => (h.evidence.new_entity === true ? 0 : 1);
  const sorted = [...hits].sort((a, b) => fresh(a) - fresh(b) || rank(a) - rank(b) || b.score - a.score);
  const kept: Hit[] = [];
  const also = new Map<Hit, { entity_type: string; entity: string; observed: number }[]>();
  for (const h of sorted) {
    const twin = kept.find((k) => k.subaccount === h.subaccount && k.windowStartMs === h.windowStartMs && k.entity_type !== h.entity_type &&
      Math.abs(k.evidence.observed - h.evidence.observed) <= 0.25 * Math.max(k.evidence.observed, h.evidence.observed));
    if (twin) {
      const list = also.get(twin) ?? [];
      list.push({ entity_type: h.entity_type, entity: h.entity, observed: h.evidence.observed });
      also.set(twin, list);
    } else {
      kept.push(h);
    }
  }
  return kept.map((h) => (also.has(h) ? { ...h, evidence: { ...h.evidence, also_seen_as: also.get(h) } } : h));
}

/** Merges hits of one detector into findings; hits at most `gapWindows` empty windows apart join. */
export function toFindings(detectorId: string, hits: readonly Hit[], maxSamples: number, gapWindows = 1): Finding[] {
  const groups = new Map<string, Hit[]>();
  for (const h of hits) {
    const key = `${h.subaccount}\u0000${h.entity_type}\u0000${h.entity}`;
    const list = groups.get(key);
    if (list) list.push(h);
    else groups.set(key, [h]);
  }
  const findings: Finding[] = [];
  for (const list of groups.values()) {
    list.sort((a, b) => a.windowStartMs - b.windowStartMs);
    let episode: Hit[] = [];
    for (const h of list) {
      const last = episode.at(-1);
      const windowMs = h.windowEndMs - h.windowStartMs;
      if (last && h.windowStartMs - last.windowEndMs > gapWindows * windowMs) {
        findings.push(episodeFinding(detectorId, episode, maxSamples));
        episode = [];
      }
      episode.push(h);
    }
    if (episode.length > 0) findings.push(episodeFinding(detectorId, episode, maxSamples));
  }
  return findings;
}

function episodeFinding(detectorId: string, episode: readonly Hit[], maxSamples: number): Finding {
  const first = episode[0] as Hit;
  const last = episode.at(-1) as Hit;
  const peak = episode.reduce((a, b) => (b.score > a.score ? b : a));
  // The cap of the peak window applies: a warm-up cap on it means its baseline was partial.
  const score = capScore(peak.score, peak.maxSeverity);
  const severity = capSeverity(severityOfScore(score), peak.maxSeverity);
  const samples: string[] = [];
  for (const h of episode) {
    for (const id of h.sampleEventIds ?? []) {
      if (samples.length >= maxSamples) break;
      if (!samples.includes(id)) samples.push(id);
    }
  }
  const span = episode.length === 1
    ? ''
    : ` Unusual in ${episode.length} windows from ${isoOf(first.windowStartMs)} to ${isoOf(last.windowEndMs)}; the figures are those of the most unusual one (${isoOf(peak.windowStartMs)}).`;
  return {
    finding_id: findingId(detectorId, first.subaccount, first.entity_type, first.entity, first.windowStartMs),
    detector: detectorId,
    severity,
    score,
    subaccount: first.subaccount,
    entity_type: first.entity_type,
    entity: first.entity,
    window_start: isoOf(first.windowStartMs),
    window_end: isoOf(last.windowEndMs),
    title: peak.title,
    explanation: peak.explanation + span,
    evidence: {
      ...peak.evidence,
      windows: episode.length,
      peak_window_start: isoOf(peak.windowStartMs),
      sample_event_ids: samples,
    },
  };
}
