// LDAP filter escaping (RFC 4515) and group-to-role mapping.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { escapeFilterValue, fillFilter, mapGroups, normaliseDn } from '../../../dashboard/auth/ldap-mapping.js';

describe('LDAP filter escaping', () => {
  it('escapes the five characters RFC 4515 requires and nothing else', () => {
    assert.equal(escapeFilterValue('*'), '\\2a');
    assert.equal(escapeFilterValue('a(b)c'), 'a\\28b\\29c');
    assert.equal(escapeFilterValue('back\\slash'), 'back\\5cslash');
    assert.equal(escapeFilterValue('nul\0'), 'nul\\00');
    assert.equal(escapeFilterValue('Jürgen O\'Neil-Smith.2@example.com'), 'Jürgen O\'Neil-Smith.2@example.com');
  });

  it('turns injection attempts into literal values', () => {
    assert.equal(fillFilter('(uid={username})', 'username', '*)(uid=*'), '(uid=\\2a\\29\\28uid=\\2a)');
    assert.equal(fillFilter('(&(objectClass=person)(|(uid={username})(mail={username})))', 'username', 'a*'), '(&(objectClass=person)(|(uid=a\\2a)(mail=a\\2a)))');
  });

  it('escapes a DN for the group filter and leaves replacement patterns alone', () => {
    const dn = 'uid=o\\2c(brien),ou=people,dc=example,dc=com';
    assert.equal(fillFilter('(member={dn})', 'dn', dn), '(member=uid=o\\5c2c\\28brien\\29,ou=people,dc=example,dc=com)');
    assert.equal(fillFilter('(uid={username})', 'username', "$&$'$`"), "(uid=$&$'$`)");
  });
});

describe('group to role mapping', () => {
  const mappings = [
    { group: 'soc-analysts', role: 'analyst', subaccounts: ['acme'] },
    { group: 'cn=Admins,ou=groups,dc=example,dc=com', role: 'admin' },
    { group: 'globex-viewers', role: 'viewer', subaccounts: ['globex', 'acme'] },
  ] as const;
  const group = (cn: string) => ({ dn: `cn=${cn},ou=groups,dc=example,dc=com`, cn: [cn] });

  it('matches by cn without regard to case, or by DN without regard to case and spacing', () => {
    assert.deepEqual(mapGroups([group('SOC-Analysts')], mappings), { role: 'analyst', subaccounts: ['acme'], groups: ['soc-analysts'] });
    assert.equal(mapGroups([{ dn: 'CN=admins, OU=groups, DC=example, DC=com', cn: ['admins'] }], mappings)?.role, 'admin');
    assert.equal(mapGroups([group('cn-admins-lookalike')], mappings), undefined);
  });

  it('gives the highest role of all mapped groups and the union of their scopes', () => {
    assert.deepEqual(mapGroups([group('globex-viewers'), group('soc-analysts')], mappings), {
      role: 'analyst', subaccounts: ['acme', 'globex'], groups: ['soc-analysts', 'globex-viewers'],
    });
  });

  it('widens the scope to all when a matched mapping names no subaccounts', () => {
    const mapped = mapGroups([group('soc-analysts'), group('admins')], mappings);
    assert.deepEqual([mapped?.role, mapped?.subaccounts], ['admin', '*']);
  });

  it('refuses a user in no mapped group', () => {
    assert.equal(mapGroups([], mappings), undefined);
    assert.equal(mapGroups([group('contractors')], mappings), undefined);
  });

  it('normalises DNs for comparison', () => {
    assert.equal(normaliseDn(' CN=Admins , OU=Groups,DC=Example ,DC=com '), 'cn=admins,ou=groups,dc=example,dc=com');
  });
});
