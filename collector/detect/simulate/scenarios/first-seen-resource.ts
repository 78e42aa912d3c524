// Lateral movement with a cloud app's credentials: the app's token reaches a system or resource that the
// connector's rules allow but that this app never used. Blatant: a dormant legacy database mapping over
// TCP; moderate: a sensitive resource of another system; subtle: a few calls to an unused prefix of a
// host the app already talks to.
import { allowedCall, tcpSession, type SimCall } from '../calls.js';
import { unusedResources, type App, type Resource, type Subaccount } from '../profiles.js';
import { logNormal, pick, shuffled } from '../random.js';
import { appsOf, callerFor, fromCalls, makeLabel, MINUTE, times } from './kit.js';
import type { Scenario } from './types.js';

const SENSITIVE = ['payroll', 'admin', 'ledger', 'payments', 'employees', 'customers'];

function target(sub: Subaccount, app: App, sameHost: boolean): Resource | undefined {
  const hosts = new Set(app.resources.map((r) => r.backend.key));
  const candidates = unusedResources(sub, app).filter((r) => hosts.has(r.backend.key) === sameHost);
  return candidates.sort((a, b) => rank(a) - rank(b))[0];
}

function rank(r: Resource): number {
  const i = SENSITIVE.indexOf(r.spec.id);
  return i === -1 ? SENSITIVE.length : i;
}

export const firstSeenResource: Scenario = {
  id: 'first_seen_resource',
  detector: 'first_seen_resource',
  summary: "an app's credentials reach a mapped system or resource prefix that app never used (lateral movement)",
  plan({ world, scheduler, rng, id }, intensity) {
    const minutes = intensity === 'blatant' ? 30 : intensity === 'moderate' ? 45 : 60;
    const appFor = (sub: Subaccount): App | undefined => {
      const apps = intensity === 'moderate' ? appsOf(sub, 'web') : appsOf(sub, 'integration', 'web');
      return shuffled(rng, apps).find((a) => intensity === 'blatant' || target(sub, a, intensity === 'subtle') !== undefined);
    };
    const slot = scheduler.place(rng, minutes * MINUTE, 'office', (s) => appFor(s) !== undefined);
    if (!slot) return undefined;
    const { sub, start } = slot;
    const app = appFor(sub) as App;
    const end = start + minutes * MINUTE;
    const calls: SimCall[] = [];
    let what: string;
    if (intensity === 'blatant') {
      const db = sub.dormant;
      for (const t of times(rng, start, end, 40)) {
        calls.push(tcpSession(rng, t, callerFor(world, sub, app, t, rng, { userAgent: '' }), db, `${sub.name}-${db.domain.id}`, logNormal(rng, 150_000, 0.6), id));
      }
      what = `opened 40 TCP sessions to ${db.key} (${db.protocol}), a mapping that no app of ${sub.name} had ever used`;
    } else {
      const resource = target(sub, app, intensity === 'subtle') as Resource;
      const n = intensity === 'moderate' ? 40 : 8;
      const gets = resource.endpoints.items.filter((e) => e.method === 'GET');
      for (const t of times(rng, start, end, n)) {
        calls.push(allowedCall(rng, t, callerFor(world, sub, app, t, rng), resource, pick(rng, gets), id));
      }
      what = `made ${n} calls to ${resource.backend.key}${resource.spec.prefix} (rule ${resource.ruleId}), a resource prefix it never used${intensity === 'subtle' ? ' on a host it uses every day' : ''}`;
    }
    scheduler.claim([sub.name], start, end);
    return fromCalls(id, calls, (s, e) => makeLabel({
      scenario: 'first_seen_resource', subaccount: sub.name, entityType: 'cloud_app', entity: app.name, start: s, end: e, intensity,
      description: `${app.name} ${what}`,
    }));
  },
};
