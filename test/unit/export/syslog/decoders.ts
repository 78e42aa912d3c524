// Independent readers of what the syslog exporter writes, written from the specifications (RFC 5424
// §6, ArcSight CEF 25, IBM LEEF 2.0) rather than from the encoders, so that a round trip through them
// checks the escaping instead of repeating it. Used by the unit tests and by the rsyslog tests.

export interface Syslog5424 {
  readonly pri: number;
  readonly version: string;
  readonly timestamp: string;
  readonly hostname: string;
  readonly appName: string;
  readonly procId: string;
  readonly msgId: string;
  /** The STRUCTURED-DATA text, '-' when nil. */
  readonly sd: string;
  /** MSG as sent (BOM included), '' when absent. */
  readonly msg: string;
}

export function parse5424(raw: string): Syslog5424 {
  const m = /^<(\d{1,3})>(\d) (\S+) (\S+) (\S+) (\S+) (\S+) /.exec(raw);
  if (!m) throw new Error(`not an RFC 5424 header: ${raw.slice(0, 80)}`);
  const rest = raw.slice(m[0].length);
  const sdEnd = rest.startsWith('-') ? 1 : sdLength(rest);
  const after = rest.slice(sdEnd);
  if (after !== '' && !after.startsWith(' ')) throw new Error(`no space after STRUCTURED-DATA: ${after.slice(0, 40)}`);
  return {
    pri: Number(m[1]), version: m[2] ?? '', timestamp: m[3] ?? '', hostname: m[4] ?? '', appName: m[5] ?? '',
    procId: m[6] ?? '', msgId: m[7] ?? '', sd: rest.slice(0, sdEnd), msg: after.slice(1),
  };
}

/** Length of the SD-ELEMENTs at the start of text: brackets inside quoted values do not count. */
function sdLength(text: string): number {
  let i = 0;
  while (text[i] === '[') {
    let quoted = false;
    for (i++; i < text.length; i++) {
      const c = text[i];
      if (quoted && c === '\\') i++;
      else if (c === '"') quoted = !quoted;
      else if (!quoted && c === ']') break;
    }
    if (i >= text.length) throw new Error('unterminated SD-ELEMENT');
    i++;
  }
  return i;
}

export interface SdElement {
  readonly id: string;
  readonly params: readonly (readonly [string, string])[];
}

/** §6.3.3: inside PARAM-VALUE, \" \\ \] stand for the character; any other backslash is literal. */
export function parseSd(sd: string): SdElement[] {
  if (sd === '-') return [];
  const out: SdElement[] = [];
  let i = 0;
  while (i < sd.length) {
    if (sd[i] !== '[') throw new Error(`expected [ at ${i}`);
    const idEnd = sd.slice(i).search(/[ \]]/) + i;
    const id = sd.slice(i + 1, idEnd);
    const params: [string, string][] = [];
    i = idEnd;
    while (sd[i] === ' ') {
      const eq = sd.indexOf('="', i);
      const name = sd.slice(i + 1, eq);
      let value = '';
      for (i = eq + 2; sd[i] !== '"'; i++) {
        if (i >= sd.length) throw new Error('unterminated PARAM-VALUE');
        const c = sd[i] as string;
        const next = sd[i + 1];
        if (c === '\\' && (next === '"' || next === '\\' || next === ']')) {
          value += next;
          i++;
        } else value += c;
      }
      params.push([name, value]);
      i++;
    }
    if (sd[i] !== ']') throw new Error(`expected ] at ${i}`);
    i++;
    out.push({ id, params });
  }
  return out;
}

/** Splits on `sep` where not escaped, at most `limit` pieces (the last keeps the rest); `\x` stays escaped. */
function splitUnescaped(text: string, sep: string, limit: number): string[] {
  const parts: string[] = [];
  let start = 0;
  for (let i = 0; i < text.length && parts.length < limit - 1; i++) {
    if (text[i] === '\\') i++;
    else if (text[i] === sep) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts;
}

function unescape(text: string, map: Record<string, string>): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    const next = text[i + 1];
    if (c === '\\' && next !== undefined && next in map) {
      out += map[next];
      i++;
    } else out += c;
  }
  return out;
}

export interface Cef {
  readonly version: string;
  readonly vendor: string;
  readonly product: string;
  readonly deviceVersion: string;
  readonly eventClass: string;
  readonly name: string;
  readonly severity: string;
  readonly ext: ReadonlyMap<string, string>;
}

export function parseCef(msg: string): Cef {
  const body = msg.startsWith('\uFEFF') ? msg.slice(1) : msg;
  if (!body.startsWith('CEF:')) throw new Error(`not CEF: ${body.slice(0, 40)}`);
  const parts = splitUnescaped(body.slice(4), '|', 8);
  if (parts.length !== 8) throw new Error('a CEF header has 7 fields');
  const h = parts.slice(0, 7).map((p) => unescape(p, { '|': '|', '\\': '\\' }));
  return {
    version: h[0] ?? '', vendor: h[1] ?? '', product: h[2] ?? '', deviceVersion: h[3] ?? '',
    eventClass: h[4] ?? '', name: h[5] ?? '', severity: h[6] ?? '', ext: cefExtension(parts[7] ?? ''),
  };
}

/** Every unescaped '=' ends a key: the key is the word before it, the previous value ends at the space before that word. */
function cefExtension(text: string): Map<string, string> {
  const equals: number[] = [];
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '\\') i++;
    else if (text[i] === '=') equals.push(i);
  }
  const keys = equals.map((eq) => {
    const start = text.lastIndexOf(' ', eq) + 1;
    return { key: text.slice(start, eq), start, valueStart: eq + 1 };
  });
  const out = new Map<string, string>();
  keys.forEach((k, n) => {
    const next = keys[n + 1];
    const raw = text.slice(k.valueStart, next ? next.start - 1 : text.length);
    if (out.has(k.key)) throw new Error(`key ${k.key} twice`);
    out.set(k.key, unescape(raw, { '\\': '\\', '=': '=', n: '\n', r: '\r' }));
  });
  return out;
}

export interface Leef {
  readonly version: string;
  readonly vendor: string;
  readonly product: string;
  readonly productVersion: string;
  readonly eventId: string;
  readonly delimiter: string;
  readonly attrs: ReadonlyMap<string, string>;
}

export function parseLeef(msg: string): Leef {
  const body = msg.startsWith('\uFEFF') ? msg.slice(1) : msg;
  if (!body.startsWith('LEEF:')) throw new Error(`not LEEF: ${body.slice(0, 40)}`);
  const parts = splitUnescaped(body.slice(5), '|', 7);
  if (parts.length !== 7) throw new Error('a LEEF 2.0 header has 6 fields');
  const h = parts.slice(0, 6).map((p) => unescape(p, { '|': '|', '\\': '\\' }));
  const declared = h[5] ?? '';
  const delimiter = /^0?x[0-9a-f]{2,4}$/i.test(declared) ? String.fromCharCode(parseInt(declared.replace(/^0?x/i, ''), 16)) : declared;
  const attrs = new Map<string, string>();
  const text = parts[6] ?? '';
  for (const pair of text === '' ? [] : splitUnescaped(text, delimiter, Infinity)) {
    const eq = pair.indexOf('=');
    const key = pair.slice(0, eq);
    if (attrs.has(key)) throw new Error(`key ${key} twice`);
    attrs.set(key, unescape(pair.slice(eq + 1), { '\\': '\\', [delimiter]: delimiter, n: '\n', r: '\r' }));
  }
  return {
    version: h[0] ?? '', vendor: h[1] ?? '', product: h[2] ?? '', productVersion: h[3] ?? '',
    eventId: h[4] ?? '', delimiter, attrs,
  };
}
