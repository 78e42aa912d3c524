// The `detection:` section of collector.yaml (live anomaly detection, docs/detectors.md). Built from the
// detector registry, so every detector's thresholds appear here with their defaults and descriptions and
// a new detector needs no edit of this file. Wire it into CollectorConfigSchema as
// `detection: DetectionSection`; liveOptionsFromConfig() turns the validated section into the options of
// startLiveDetection() (live.ts).
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import type { DetectionConfig } from './config.js';
import { DETECTION_DEFAULTS } from './config.js';
import { DETECTORS } from './registry.js';

function detectorSection(id: string): TSchema {
  const detector = DETECTORS.find((d) => d.id === id);
  if (!detector) throw new Error(`no detector ${id}`);
  const properties: Record<string, TSchema> = {};
  for (const [key, value] of Object.entries(detector.defaults)) {
    if (key === 'enabled') {
      properties[key] = Type.Boolean({ default: value, description: `run ${id}` });
    } else if (typeof value === 'boolean') {
      properties[key] = Type.Boolean({ default: value, description: detector.paramDocs[key] ?? key });
    } else if (key === 'window_minutes') {
      properties[key] = Type.Integer({
        minimum: 1,
        maximum: 1440,
        default: value,
        description: detector.fixedWindowMinutes !== undefined ? `window length in minutes (must be ${detector.fixedWindowMinutes})` : 'window length in minutes; must divide a day (1, 5, 10, 15, 30, 60, ...)',
      });
    } else {
      properties[key] = Type.Number({ minimum: 0, default: value as number, description: detector.paramDocs[key] ?? key });
    }
  }
  return Type.Object(properties, { additionalProperties: false, default: {}, description: detector.summary });
}

export const DetectionSection = Type.Object(
  {
    enabled: Type.Boolean({ default: true, description: 'run the detectors on new audit events and store their findings (table findings)' }),
    interval_s: Type.Integer({ minimum: 5, maximum: 3600, default: 60, description: 'seconds between two live runs' }),
    settle_s: Type.Integer({ minimum: 0, maximum: 3600, default: 30, description: 'seconds a live run stays behind now, so late events of a window have arrived before it is judged' }),
    lookback_minutes: Type.Integer({ minimum: 5, maximum: 10_080, default: 120, description: 'each live run re-judges the windows of this many minutes before its end (late events, windows still filling); at least the longest detector window' }),
    baseline_days: Type.Integer({ minimum: 1, maximum: 365, default: DETECTION_DEFAULTS.baseline_days, description: 'days of history each window is compared with' }),
    warmup_days: Type.Integer({ minimum: 0, maximum: 365, default: DETECTION_DEFAULTS.warmup_days, description: 'days of history needed before a baseline is trusted: with less, baseline detectors stay quiet and burst detectors report at low severity (said in the explanation)' }),
    max_samples: Type.Integer({ minimum: 0, maximum: 20, default: DETECTION_DEFAULTS.max_samples, description: 'sample event ids per finding' }),
    min_severity: Type.Union([Type.Literal('low'), Type.Literal('medium'), Type.Literal('high'), Type.Literal('critical')], { default: 'low', description: 'findings below this severity are not stored' }),
    detectors: Type.Object(
      Object.fromEntries(DETECTORS.map((d) => [d.id, detectorSection(d.id)])),
      { additionalProperties: false, default: {}, description: 'per detector: enabled, window_minutes and its thresholds (docs/detectors.md)' },
    ),
  },
  { additionalProperties: false, default: {}, description: 'live anomaly detection over the audit events (docs/detectors.md)' },
);

export type DetectionSettings = Static<typeof DetectionSection>;

/** The validated section as the options of the live runner and detectRange(). */
export function liveOptionsFromConfig(section: DetectionSettings): { enabled: boolean; intervalMs: number; settleMs: number; lookbackMs: number; config: DetectionConfig } {
  const { enabled, interval_s, settle_s, lookback_minutes, detectors, ...shared } = section;
  return {
    enabled,
    intervalMs: interval_s * 1000,
    settleMs: settle_s * 1000,
    lookbackMs: lookback_minutes * 60_000,
    config: { ...shared, detectors: detectors as DetectionConfig['detectors'] },
  };
}
