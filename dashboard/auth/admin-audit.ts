// TODO(issue 4): admin audit events (sign-ins, token changes) with their own hash chain in admin_events.
import type { Logger } from '../../common/log.js';
import type { Store } from '../../collector/store/store.js';
import type { AdminAudit } from '../context.js';

export async function createAdminAudit(_store: Store, _log: Logger): Promise<AdminAudit> {
  throw new Error('not implemented yet');
}
