// Error bodies as Elasticsearch writes them: a whole-request error is
// {"error":{"root_cause":[...],"type","reason",...},"status"}; a bulk item error is the inner object.
export interface EsError {
  readonly status: number;
  readonly error: Record<string, unknown>;
}

export function esError(status: number, type: string, reason: string, index?: string, causedBy?: Record<string, unknown>): EsError {
  const cause: Record<string, unknown> = { type, reason };
  if (index !== undefined) {
    cause['resource.type'] = 'index_or_alias';
    cause['resource.id'] = index;
    cause.index_uuid = '_na_';
    cause.index = index;
  }
  return { status, error: causedBy ? { ...cause, caused_by: causedBy } : cause };
}

export function isEsError(value: unknown): value is EsError {
  return typeof value === 'object' && value !== null && 'error' in value && 'status' in value;
}

/** The body of a whole-request error response. */
export function errorBody(e: EsError): Record<string, unknown> {
  const { caused_by: _c, ...root } = e.error;
  return { error: { root_cause: [root], ...e.error }, status: e.status };
}

/** `user` is the user name of refused basic credentials, '' for another scheme, undefined for none sent. */
export function unauthenticated(path: string, user: string | undefined): EsError {
  const reason = user === undefined
    ? `missing authentication credentials for REST request [${path}]`
    : user !== ''
      ? `unable to authenticate user [${user}] for REST request [${path}]`
      : 'unable to authenticate with provided credentials and anonymous access is not allowed for this request';
  return {
    status: 401,
    error: {
      type: 'security_exception',
      reason,
      header: { 'WWW-Authenticate': ['Basic realm="security", charset="UTF-8"', 'Bearer realm="security"', 'ApiKey'] },
    },
  };
}

export function forbidden(action: string, principal: string): EsError {
  return esError(403, 'security_exception', `action [${action}] is unauthorized for user [${principal}] with effective roles [viewer], this action is granted by the cluster privileges [manage_index_templates,manage,all]`);
}

/** Per-item 429 as a busy write thread pool or indexing pressure gives it. */
export function rejectedItem(): Record<string, unknown> {
  return {
    type: 'es_rejected_execution_exception',
    reason: 'rejected execution of coordinating operation [coordinating_and_primary_bytes=0, replica_bytes=0, all_bytes=0, coordinating_operation_bytes=1024, max_coordinating_and_primary_bytes=0]',
  };
}
