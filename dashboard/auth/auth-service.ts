// TODO(issue 4): sessions, local users, LDAP, API tokens.
import type { Logger } from '../../common/log.js';
import type { Store } from '../../collector/store/store.js';
import type { DashboardSettings } from '../config-schema.js';
import type { AdminAudit, AuthService } from '../context.js';

export interface AuthServiceOptions {
  readonly settings: DashboardSettings;
  readonly store: Store;
  readonly configFile: string;
  readonly adminAudit: AdminAudit;
  readonly log: Logger;
}

export async function createAuthService(_options: AuthServiceOptions): Promise<AuthService> {
  throw new Error('not implemented yet');
}
