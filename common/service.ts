// What a long-running service (relay, connector, collector) and its runner (cli/run-service.ts) agree
// on: how a reload is asked for, what it answers, and what the runner hands the service. Here, not in
// cli/, so that the services do not import the command line.

/** Who asked for a reload and how, for the audit of the change. */
export interface ReloadSource {
  readonly via: 'sighup' | 'api';
  readonly actor: string;
  /** For an API reload: the caller's role (e.g. admin, or relay-admin-token), address and user agent. */
  readonly actorRole?: string;
  readonly clientIp?: string;
  readonly userAgent?: string;
}

export interface ReloadResult {
  readonly applied: boolean;
  /** Why it was refused, or what it changed. */
  readonly message: string;
  /** Settings that changed in the file but take effect only after a restart. */
  readonly restartNeeded?: readonly string[];
  /** The audited sections the reload changed (each one an admin event `config.change`). */
  readonly changed?: readonly string[];
}

/** What runService gives a service besides its config: how to read the file again (for an API reload). */
export interface ServiceHooks<C> {
  /** Reads and validates the file again, with the same --set and environment; throws when invalid. */
  readonly load: () => C;
}

/** A running service; reload() is optional (a service without it logs that SIGHUP needs a restart). */
export interface RunningService<C> {
  close(): Promise<void>;
  reload?(load: () => C, source: ReloadSource): Promise<ReloadResult>;
}
