// first_seen_resource: a cloud app reaches (is allowed through to) a virtual host or a resource it did not
// use in its baseline. A resource is virtual host:port plus the access rule that allowed the call: the
// rule_id of an allowed call names the resource (path prefix) or TCP mapping that let it through (the
// spec gives every allowed call one). Keying on the rule, not on path segments, keeps new paths under a
// resource the app already uses (a release) quiet, and is a LowCardinality read instead of a path scan.
// How unusual depends on who else knew it: a host other apps of the subaccount use but this app never
// did (lateral movement) ranks highest; a new host for the whole subaccount next; a new prefix on a host
// the app already uses is low (new releases add paths), higher when other apps already used it.
// Warm-up: an app seen for fewer than warmup_days is not judged (everything is new to it).
import type { Detector } from '../detector.js';
import { finishHits, type HitDraft } from '../hits.js';
import { fmt, scoreOf } from '../score.js';
import { checkedTable, HASH } from '../facts.js';
import { firstDaySql, KNOWN_APPS } from '../seasonal.js';
import { windowGrid } from '../sql.js';

/** App, host and resource of an event, for picking sample events of the new resource. */
const APP_RESOURCE = "concat(cloud_app, '\\0', virtual_host, ':', toString(virtual_port), '\\0', rule_id)";
const WHERE = "decision = 'allow' AND cloud_app != '' AND virtual_host != ''";

type Kind = 'host_lateral' | 'host_new' | 'prefix_known' | 'prefix_new';
const KIND_TEXT: Record<Kind, string> = {
  host_lateral: 'a host other apps of the subaccount use, never this one',
  host_new: 'a host no app of the subaccount used',
  prefix_known: 'a resource other apps of the subaccount use, on a host this app uses',
  prefix_new: 'a resource no app of the subaccount used, on a host this app uses',
};

export const firstSeenResource: Detector = {
  id: 'first_seen_resource',
  summary: 'an app reaches a virtual host or resource (access rule) it never used in its baseline',
  defaults: {
    enabled: true, window_minutes: 60, min_calls: 1,
    score_host_lateral: 60, score_host_new: 45, score_prefix_known: 35, score_prefix_new: 25,
  },
  paramDocs: {
    window_minutes: 'window length (minutes)',
    min_calls: 'fewest allowed calls to a new resource in the window',
    score_host_lateral: 'score when the host is used by other apps of the subaccount but never by this one',
    score_host_new: 'score when no app of the subaccount used the host',
    score_prefix_known: 'score for a resource new to the app but used by other apps, on a host the app uses',
    score_prefix_new: 'score for a resource no app used, on a host the app uses (low: releases add resources)',
  },
  async detect(ctx, p) {
    const window = p.window_minutes;
    const grid = windowGrid(ctx, window);
    // An app known from before the horizon is as old as a sweep over the whole store finds it (seasonal.ts).
    const appFirst = await firstDaySql(ctx, KNOWN_APPS, '(sub, app)', 'min(min(day)) OVER (PARTITION BY sub, app)');
    // Per resource and day (far fewer groups than per window): the first window it was used in that day.
    const resource = ['subaccount', 'cloud_app', 'virtual_host', 'virtual_port', 'rule_id'];
    const perDay = (hashed: boolean) => `
      SELECT ${hashed ? 'any(subaccount) AS sub, any(cloud_app) AS app, any(virtual_host) AS vhost, any(virtual_port) AS vport, any(rule_id) AS res'
        : 'subaccount AS sub, cloud_app AS app, virtual_host AS vhost, virtual_port AS vport, rule_id AS res'},
        toInt64(intDiv(toUnixTimestamp(ts), 86400)) AS day, toInt64(intDiv(toUnixTimestamp(min(ts)), {wsec:UInt32})) AS fw,
        count() AS x${hashed ? `, ${HASH.mixed(resource)} AS mixed` : ''}
      FROM audit_events
      WHERE ts >= {hfrom:DateTime64(3, 'UTC')} AND ts < {hto:DateTime64(3, 'UTC')} AND ${WHERE}
      GROUP BY ${hashed ? HASH.key(resource) : 'sub, app, vhost, vport, res'}, day`;
    // Scratch tables are named once per sweep: this one only serves this detector's window length.
    const days = await checkedTable(ctx, 'resource_day', perDay(true), perDay(false), { wsec: grid.params.wsec, hfrom: grid.params.hfrom, hto: grid.params.hto });
    const rows = await ctx.store.query<Record<string, unknown>>(`
      SELECT sub, app, vhost, vport, res, c.1 AS day, c.2 AS win, c.3 AS calls, app_first, host_app_first, host_sub_first, res_sub_first
      FROM (
        SELECT sub, app, vhost, vport, res,
          arraySort(groupArray((day, fw, x))) AS uses,
          -- The day each use follows (a lambda must not read uses itself: that copies it per element).
          arrayPopBack(arrayPushFront(arrayMap(u -> u.1, uses), toInt64(-1000000))) AS prev,
          arrayFilter((u, pd) -> u.2 >= {from_win:Int64} AND u.2 < {to_win:Int64} AND u.3 >= {min_calls:UInt64}
            AND u.1 - pd > {bdays:UInt32}, uses, prev) AS cand,
          ${appFirst.sql} AS app_first,
          min(min(day)) OVER (PARTITION BY sub, app, vhost, vport) AS host_app_first,
          min(min(day)) OVER (PARTITION BY sub, vhost, vport) AS host_sub_first,
          min(min(day)) OVER (PARTITION BY sub, vhost, vport, res) AS res_sub_first
        FROM ${days}
        GROUP BY sub, app, vhost, vport, res
      )
      ARRAY JOIN cand AS c
      WHERE c.1 - greatest(app_first, {data_day:Int64}) >= {warmup:UInt32}`,
    { ...grid.params, min_calls: p.min_calls as number, warmup: ctx.warmupDays, ...appFirst.params });

    // One hit per app and window, listing every resource new to it then.
    const byWindow = new Map<string, { sub: string; app: string; win: number; appFirst: number; items: { host: string; resource: string; kind: Kind; calls: number }[] }>();
    for (const r of rows) {
      const win = Number(r.win);
      const day = Number(r.day);
      const appFirst = Math.max(Number(r.app_first), grid.dataDay);
      const hostNewToApp = Number(r.host_app_first) >= day;
      const kind: Kind = hostNewToApp
        ? (Number(r.host_sub_first) < day ? 'host_lateral' : 'host_new')
        : (Number(r.res_sub_first) < day ? 'prefix_known' : 'prefix_new');
      const key = `${String(r.sub)}\u0000${String(r.app)}\u0000${win}`;
      const entry = byWindow.get(key) ?? { sub: String(r.sub), app: String(r.app), win, appFirst, items: [] };
      const host = `${String(r.vhost)}:${String(r.vport)}`;
      entry.items.push({ host, resource: `rule ${String(r.res)}`, kind, calls: Number(r.calls) });
      byWindow.set(key, entry);
    }
    const drafts: HitDraft[] = [];
    for (const e of byWindow.values()) {
      const scored = e.items.map((i) => ({ ...i, base: p[`score_${i.kind}`] as number })).sort((a, b) => b.base - a.base || b.calls - a.calls);
      const top = scored[0]!;
      // Each further new resource in the same window adds a little: reaching several at once is more unusual.
      const score = scoreOf(top.base + Math.min(20, 5 * (scored.length - 1)), 1);
      const historyDays = Math.floor((e.win * grid.windowMs) / 86_400_000) - e.appFirst;
      const list = scored.slice(0, 10).map((i) => `${i.host} ${i.resource} (${fmt(i.calls)} calls that day: ${KIND_TEXT[i.kind]})`).join('; ');
      drafts.push({
        win: e.win,
        subaccount: e.sub,
        entity_type: 'cloud_app',
        entity: e.app,
        score,
        title: `Cloud app ${e.app} reached ${scored.length === 1 ? `${top.host} ${top.resource}` : `${scored.length} resources`} for the first time`,
        explanation: `Observed: cloud app "${e.app}" of subaccount "${e.sub}" was allowed to ${list}. ` +
          `Baseline: none of these was used by the app in the ${ctx.baselineDays} days before that day (the app has ${historyDays} days of history in the store). ` +
          `Threshold: any allowed call to a resource not in the baseline (at least ${fmt(p.min_calls as number)}); apps with less than ${ctx.warmupDays} days of history are not judged.`,
        evidence: { observed: scored.length, resources: scored.slice(0, 20).map(({ host, resource, kind, calls }) => ({ host, resource, kind, calls })), history_days: historyDays },
        sampleEntity: `${e.app}\u0000${top.host}\u0000${top.resource.slice('rule '.length)}`,
      });
    }
    // Samples: the calls to the most unusual of the new resources.
    return finishHits(ctx, grid, { subaccount: 'subaccount', entity: APP_RESOURCE, where: WHERE }, drafts);
  },
};
