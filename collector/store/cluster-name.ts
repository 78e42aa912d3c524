// A cluster name goes into DDL as an identifier: ClickHouse takes no query parameter after ON CLUSTER,
// so the name is checked to be a plain identifier before it is ever written into a statement.
import { TunnelwatchError } from '../../common/errors.js';

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function checkClusterName(cluster: string): string {
  if (!IDENTIFIER.test(cluster)) throw new TunnelwatchError('TW_ERR_CONFIG_INVALID', `cluster name "${cluster}" must be a plain identifier ([A-Za-z_][A-Za-z0-9_]*)`);
  return cluster;
}
