// Replaces the values of secret query parameters by REDACTED before a query reaches an audit event or a log.
// Everything else stays byte-for-byte as received, so an analyst sees what the backend saw.
export const REDACTED = 'REDACTED';

// secret_query_params comes from frozen config, so its lower-cased set is built once per array.
const compiled = new WeakMap<readonly string[], ReadonlySet<string>>();

/**
 * Parameters are separated by '&' and also by ';' (which some servers still split on: better to redact
 * too much than too little). A parameter is secret when its percent-decoded name, compared
 * case-insensitively, is a listed name, or one of its bracket or dot components is (PHP and Rails read
 * user[password] and password[] as password, Spring binds user.password). Empty values stay empty.
 */
export function redactQuery(rawQuery: string, secretParams: readonly string[]): string {
  if (rawQuery === '' || secretParams.length === 0) return rawQuery;
  const secrets = secretSet(secretParams);
  let out = '';
  let copied = 0; // rawQuery[0, copied) is already in out
  let start = 0; // first char of the current parameter
  let eq = -1; // its first '=', -1 if none yet
  const n = rawQuery.length;
  // One pass: hostile queries with many parameters must not cost more than linear time.
  for (let i = 0; i <= n; i++) {
    const c = i < n ? rawQuery.charCodeAt(i) : 0x26;
    if (c === 0x3d) {
      if (eq < 0) eq = i;
      continue;
    }
    if (c !== 0x26 && c !== 0x3b) continue; // '&' ';'
    if (eq >= 0 && eq < i - 1 && isSecret(rawQuery.slice(start, eq), secrets)) {
      out += `${rawQuery.slice(copied, eq + 1)}${REDACTED}`;
      copied = i;
    }
    start = i + 1;
    eq = -1;
  }
  return copied === 0 ? rawQuery : out + rawQuery.slice(copied);
}

function secretSet(secretParams: readonly string[]): ReadonlySet<string> {
  let set = compiled.get(secretParams);
  if (set === undefined) {
    set = new Set(secretParams.map((s) => s.toLowerCase()));
    compiled.set(secretParams, set);
  }
  return set;
}

function isSecret(rawName: string, secrets: ReadonlySet<string>): boolean {
  if (rawName === '') return false;
  const name = decodeName(rawName).toLowerCase();
  if (secrets.has(name)) return true;
  if (!/[[\].]/.test(name)) return false;
  for (const part of name.split(/[[\].]/)) if (part !== '' && secrets.has(part)) return true;
  return false;
}

/** Percent-decodes a name; a malformed escape leaves that escape as it is instead of failing. */
function decodeName(raw: string): string {
  if (!raw.includes('%')) return raw;
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw.replace(/%([0-9A-Fa-f]{2})/g, (whole, hex: string) => {
      const b = parseInt(hex, 16);
      return b < 0x80 ? String.fromCharCode(b) : whole;
    });
  }
}
