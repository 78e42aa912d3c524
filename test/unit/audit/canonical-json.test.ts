// RFC 8785 (JSON Canonicalization Scheme) test vectors; the hash chain depends on every byte of these.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalJson } from '../../../common/audit/canonical-json.js';

/** The IEEE-754 double with these 64 bits (RFC 8785 appendix B lists vectors by bit pattern). */
function double(hex: string): number {
  return Buffer.from(hex, 'hex').readDoubleBE(0);
}

describe('canonicalJson', () => {
  it('sorts object keys by UTF-16 code units, so non-BMP keys sort by their surrogates (RFC 8785 3.2.3)', () => {
    const input = {
      '\u20ac': 'Euro Sign',
      '\r': 'Carriage Return',
      '\ufb33': 'Hebrew Letter Dalet With Dagesh',
      '1': 'One',
      '\ud83d\ude00': 'Emoji: Grinning Face',
      '\u0080': 'Control',
      '\u00f6': 'Latin Small Letter O With Diaeresis',
    };
    // U+1F600 (surrogates D83D DE00) sorts before U+FB33, unlike a code point order would have it.
    const expected = '{"\\r":"Carriage Return","1":"One","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis",'
      + '"\u20ac":"Euro Sign","\ud83d\ude00":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}';
    assert.equal(canonicalJson(input), expected);
  });

  it('sorts nested object keys and keeps array order', () => {
    assert.equal(canonicalJson({ b: [3, { z: 1, a: 2 }, 1], a: { d: null, c: true } }), '{"a":{"c":true,"d":null},"b":[3,{"a":2,"z":1},1]}');
  });

  it('sorts upper case before lower case and shorter keys before their extensions', () => {
    assert.equal(canonicalJson({ ab: 1, a: 2, B: 3, b: 4 }), '{"B":3,"a":2,"ab":1,"b":4}');
  });

  it('serialises the sample numbers of RFC 8785 3.2.2.3 in their shortest ECMAScript form', () => {
    // Parsed from text: the first literal has more digits than a double holds, which is the point.
    const input: unknown = JSON.parse('{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001]}');
    assert.equal(canonicalJson(input), '{"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27]}');
  });

  it('serialises the IEEE-754 vectors of RFC 8785 appendix B', () => {
    const vectors: [string, string][] = [
      ['0000000000000000', '0'],
      ['8000000000000000', '0'],
      ['0000000000000001', '5e-324'],
      ['8000000000000001', '-5e-324'],
      ['7fefffffffffffff', '1.7976931348623157e+308'],
      ['ffefffffffffffff', '-1.7976931348623157e+308'],
      ['4340000000000000', '9007199254740992'],
      ['c340000000000000', '-9007199254740992'],
      ['4430000000000000', '295147905179352830000'],
      ['44b52d02c7e14af5', '9.999999999999997e+22'],
      ['44b52d02c7e14af6', '1e+23'],
      ['44b52d02c7e14af7', '1.0000000000000001e+23'],
      ['444b1ae4d6e2ef4e', '999999999999999700000'],
      ['444b1ae4d6e2ef4f', '999999999999999900000'],
      ['444b1ae4d6e2ef50', '1e+21'],
      ['3eb0c6f7a0b5ed8c', '9.999999999999997e-7'],
      ['3eb0c6f7a0b5ed8d', '0.000001'],
      ['41b3de4355555553', '333333333.3333332'],
      ['41b3de4355555554', '333333333.33333325'],
      ['41b3de4355555555', '333333333.3333333'],
      ['41b3de4355555556', '333333333.3333334'],
      ['41b3de4355555557', '333333333.33333343'],
      ['becbf647612f3696', '-0.0000033333333333333333'],
      ['43143ff3c1cb0959', '1424953923781206.2'],
    ];
    for (const [bits, expected] of vectors) assert.equal(canonicalJson(double(bits)), expected, bits);
  });

  it('writes 1e21 in exponent form but 1e20 in full, 0.1 as 0.1, and -0 as 0', () => {
    assert.equal(canonicalJson([1e21, 1e20, 0.1, -0, 1.0, -1.5]), '[1e+21,100000000000000000000,0.1,0,1,-1.5]');
  });

  it('refuses NaN and Infinity, which JSON cannot represent', () => {
    assert.throws(() => canonicalJson(Number.NaN), TypeError);
    assert.throws(() => canonicalJson({ a: Number.POSITIVE_INFINITY }), TypeError);
    assert.throws(() => canonicalJson([Number.NEGATIVE_INFINITY]), TypeError);
  });

  it('escapes the string sample of RFC 8785 3.2.2.2 exactly', () => {
    const input = '\u20ac$\u000F\u000aA\'\u0042\u0022\u005c\\"/';
    assert.equal(canonicalJson(input), '"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"');
  });

  it('escapes control characters with the short forms where JSON has them, else \\u00xx in lower case', () => {
    let all = '';
    for (let c = 0; c < 0x20; c++) all += String.fromCharCode(c);
    const expected = '"\\u0000\\u0001\\u0002\\u0003\\u0004\\u0005\\u0006\\u0007\\b\\t\\n\\u000b\\f\\r\\u000e\\u000f'
      + '\\u0010\\u0011\\u0012\\u0013\\u0014\\u0015\\u0016\\u0017\\u0018\\u0019\\u001a\\u001b\\u001c\\u001d\\u001e\\u001f"';
    assert.equal(canonicalJson(all), expected);
  });

  it('leaves DEL, the solidus and non-ASCII characters unescaped, as UTF-8 text', () => {
    assert.equal(canonicalJson('\u007f/é€😀'), '"\u007f/é€😀"');
    assert.equal(canonicalJson({ 'clé': 'wert' }), '{"clé":"wert"}');
  });

  it('writes the literals and empty containers without whitespace', () => {
    assert.equal(canonicalJson([null, true, false, {}, [], '']), '[null,true,false,{},[],""]');
    assert.equal(canonicalJson({ a: [1, 2], b: { } }), '{"a":[1,2],"b":{}}');
  });

  it('drops undefined object members and writes undefined array items as null, like JSON.stringify', () => {
    assert.equal(canonicalJson({ a: undefined, b: 1 }), '{"b":1}');
    assert.equal(canonicalJson([undefined, 1]), '[null,1]');
  });

  it('gives the same text for the same data whatever the key insertion order', () => {
    assert.equal(canonicalJson({ seq: 1, hash: 'x', a: { y: 1, x: 2 } }), canonicalJson({ a: { x: 2, y: 1 }, hash: 'x', seq: 1 }));
  });
});
