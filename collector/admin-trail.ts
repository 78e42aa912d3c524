// The collector's own admin audit chain (`collector@<host>`, emitter 'collector'): changes it learns of
// (a connector's rules, backend state changes) as hash-chained admin events beside the dashboard's. One
// trail per store and process, shared by every part that records, since two writers would fork the chain.
import { hostname } from 'node:os';
import type { Logger } from '../common/log.js';
import { createAdminAudit } from '../dashboard/auth/admin-audit.js';
import type { AdminAudit } from '../dashboard/context.js';
import type { Store } from './store/store.js';

const trails = new WeakMap<Store, Promise<AdminAudit>>();

/** The trail of this store, created on first use (it reads the chain's head from the store). */
export function collectorAdminTrail(store: Store, log: Logger): () => Promise<AdminAudit> {
  return () => {
    let trail = trails.get(store);
    if (!trail) {
      trail = createAdminAudit(store, log.child({ component: 'collector.admin-audit' }), { emitterId: `collector@${hostname()}`, emitter: 'collector' });
      trails.set(store, trail);
      // A store that was down at first use must not leave a rejected promise cached.
      trail.catch(() => trails.delete(store));
    }
    return trail;
  };
}
