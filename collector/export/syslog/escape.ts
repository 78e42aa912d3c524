// The backslash escaping of CEF and LEEF (docs/siem-syslog.md). Both have a pipe-delimited header and
// key=value attributes; they differ only in the attribute delimiter that a value must escape: '=' in CEF
// (its attributes are separated by spaces, so a key ends at the first unescaped '='), '^' in LEEF 2.0 as
// Tunnelwatch sends it (the delimiter it declares).

const HEADER_SPECIAL = /[\\|\r\n]/;

/** Header fields: '\' and '|' get a backslash; a header is one line, so CR and LF become spaces. */
export function pipeHeaderEscape(value: string): string {
  if (!HEADER_SPECIAL.test(value)) return value;
  return value.replace(/[\\|]/g, '\\$&').replace(/\r\n|[\r\n]/g, ' ');
}

/** Attribute values: '\' and `delimiter` get a backslash, CR becomes \r and LF \n; nothing else changes. */
export function attributeEscaper(delimiter: '=' | '^'): (value: string) => string {
  const special = new RegExp(`[\\\\\\${delimiter}\\r\\n]`);
  const backslashed = new RegExp(`[\\\\\\${delimiter}]`, 'g');
  return (value) => {
    if (!special.test(value)) return value;
    return value.replace(backslashed, '\\$&').replace(/\r/g, '\\r').replace(/\n/g, '\\n');
  };
}
