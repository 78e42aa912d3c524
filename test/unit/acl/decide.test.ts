// The access-control decision and the policy compiler behind it.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from '../../../common/config/load-config.js';
import type { ConnectorConfig, MappingConfig, ResourceConfig } from '../../../connector/agent/config-schema.js';
import { decide, type AccessDecision, type AccessRequest } from '../../../connector/acl/decide.js';
import { compilePolicy, covers, describePolicy, looseCovers, loosePath, type LooseRule } from '../../../connector/acl/policy.js';
import { normalizePath } from '../../../connector/acl/normalize-path.js';

type Subaccounts = ConnectorConfig['subaccounts'];

function resource(path: string, over: Partial<ResourceConfig> = {}): ResourceConfig {
  return { path, match: 'prefix', methods: ['GET', 'HEAD'], active: true, websocket: false, ...over };
}

function mapping(virtual: string, over: Partial<MappingConfig> = {}): MappingConfig {
  return { virtual, internal: 'backend.corp:8080', protocol: 'http', host_header: 'virtual', resources: [], ...over };
}

const RULES: Subaccounts = {
  acme: {
    trusted_apps: [],
    mappings: [
      mapping('erp.virtual:8000', {
        internal: 'erp.corp.local:8443',
        protocol: 'https',
        ca: 'ca/erp.pem',
        resources: [
          resource('/', { match: 'exact' }),
          resource('/api/orders', { methods: ['GET', 'POST'] }),
          resource('/api/orders/export', { match: 'exact', active: false }),
          resource('/api/orders/archive', { methods: ['GET'] }),
          resource('/api/public/'),
          resource('/api', { id: 'api-read', methods: ['GET'] }),
          resource('/api/admin', { active: false }),
          resource('/ws', { methods: ['GET'], websocket: true }),
          resource('/anything', { methods: [] }),
          resource('/Docs', { match: 'exact' }),
        ],
      }),
      mapping('db.virtual:5432', { id: 'acme-db', internal: 'db.corp.local:5432', protocol: 'tcp' }),
      mapping('[fd00::1]:9000', { internal: '[fd00::2]:9000', host_header: 'internal', resources: [resource('/')] }),
    ],
  },
  globex: {
    trusted_apps: ['billing', 'reporting'],
    mappings: [
      mapping('erp.virtual:8000', { internal: 'globex-erp.corp:80', resources: [resource('/admin', { methods: [] })] }),
      mapping('mq.virtual:1414', { internal: 'mq.corp:1414', protocol: 'tcps' }),
    ],
  },
};

const policy = compilePolicy(RULES);

function http(target: string, over: Partial<AccessRequest> = {}): AccessRequest {
  return { subaccount: 'acme', cloudApp: 'shop', kind: 'http', method: 'GET', authority: 'erp.virtual:8000', target, upgrade: false, ...over };
}

function connect(authority: string, over: Partial<AccessRequest> = {}): AccessRequest {
  return { subaccount: 'acme', cloudApp: 'shop', kind: 'connect', method: 'CONNECT', authority, target: '', upgrade: false, ...over };
}

function allowed(d: AccessDecision, ruleId: string): void {
  assert.equal(d.decision, 'allow', `expected allow, got ${d.denyReason}: ${d.detail}`);
  assert.equal(d.denyReason, '');
  assert.equal(d.ruleId, ruleId);
}

function denied(d: AccessDecision, reason: AccessDecision['denyReason'], detailWords?: string): void {
  assert.equal(d.decision, 'deny', `expected ${reason}, got allow by ${d.ruleId}`);
  assert.equal(d.denyReason, reason, d.detail);
  assert.equal(d.ruleId, '');
  if (detailWords !== undefined) assert.ok(d.detail.includes(detailWords), `detail ${JSON.stringify(d.detail)} lacks ${JSON.stringify(detailWords)}`);
}

describe('decide: allowing', () => {
  it('allows a path under a prefix resource and names its default rule id', () => {
    const d = decide(policy, http('/api/orders/7'));
    allowed(d, 'erp.virtual:8000/api/orders*');
    assert.equal(d.path, '/api/orders/7');
    assert.equal(d.virtualHost, 'erp.virtual');
    assert.equal(d.virtualPort, 8000);
    assert.equal(d.mapping?.internalHost, 'erp.corp.local');
    assert.equal(d.mapping?.internalPort, 8443);
    assert.equal(d.detail, 'allowed by erp.virtual:8000/api/orders*');
  });

  it('allows an exact resource and gives its id without "*"', () => {
    allowed(decide(policy, http('/')), 'erp.virtual:8000/');
  });

  it('uses a configured resource id', () => {
    allowed(decide(policy, http('/api/customers')), 'api-read');
  });

  it('returns the raw query without "?" and decides on the path only', () => {
    const d = decide(policy, http('/api/orders?token=abc&x=%2F..'));
    allowed(d, 'erp.virtual:8000/api/orders*');
    assert.equal(d.path, '/api/orders');
    assert.equal(d.query, 'token=abc&x=%2F..');
  });

  it('matches the virtual host case-insensitively and ignores one trailing dot', () => {
    const d = decide(policy, http('/api/orders', { authority: 'ERP.Virtual.:8000' }));
    allowed(d, 'erp.virtual:8000/api/orders*');
    assert.equal(d.virtualHost, 'erp.virtual');
  });

  it('allows every method when the methods list is empty', () => {
    for (const method of ['GET', 'DELETE', 'PATCH', 'PROPFIND']) allowed(decide(policy, http('/anything/x', { method })), 'erp.virtual:8000/anything*');
  });

  it('allows HEAD only where it is listed (no implicit HEAD from GET)', () => {
    allowed(decide(policy, http('/', { method: 'HEAD' })), 'erp.virtual:8000/');
    denied(decide(policy, http('/api/orders', { method: 'HEAD' })), 'method_not_allowed', 'does not allow HEAD');
  });

  it('allows a websocket upgrade on a resource with websocket: true', () => {
    allowed(decide(policy, http('/ws/feed', { upgrade: true })), 'erp.virtual:8000/ws*');
  });

  it('allows CONNECT to a tcp mapping under the mapping id, with no path', () => {
    const d = decide(policy, connect('db.virtual:5432'));
    allowed(d, 'acme-db');
    assert.equal(d.path, '');
    assert.equal(d.query, '');
    assert.equal(d.mapping?.protocol, 'tcp');
  });

  it('allows CONNECT to a tcps mapping under its default id "<vhost>:<vport>"', () => {
    allowed(decide(policy, connect('mq.virtual:1414', { subaccount: 'globex', cloudApp: 'billing' })), 'mq.virtual:1414');
  });

  it('finds an IPv6 virtual host given in any spelling', () => {
    const d = decide(policy, http('/x', { authority: '[FD00:0::1]:9000' }));
    allowed(d, '[fd00::1]:9000/*');
    assert.equal(d.virtualHost, 'fd00::1');
    assert.equal(d.mapping?.hostHeader, '[fd00::2]:9000');
    assert.equal(d.mapping?.internalHost, 'fd00::2');
  });

  it('decides on the normalised path and returns it', () => {
    const d = decide(policy, http('/api//orders/./x/../%37'));
    allowed(d, 'erp.virtual:8000/api/orders*');
    assert.equal(d.path, '/api/orders/7');
  });
});

describe('decide: most specific resource wins', () => {
  it('lets a longer prefix override a shorter one', () => {
    allowed(decide(policy, http('/api/orders', { method: 'POST' })), 'erp.virtual:8000/api/orders*');
    denied(decide(policy, http('/api/customers', { method: 'POST' })), 'method_not_allowed', 'api-read does not allow POST');
  });

  it('lets a suspended specific resource deny below an allowing parent', () => {
    denied(decide(policy, http('/api/admin/users')), 'resource_suspended', 'erp.virtual:8000/api/admin* is suspended');
  });

  it('lets an exact resource beat a prefix resource on the same path', () => {
    const rules: Subaccounts = { t: { trusted_apps: [], mappings: [mapping('h:1', { resources: [resource('/a'), resource('/a', { match: 'exact', active: false })] })] } };
    const p = compilePolicy(rules);
    denied(decide(p, http('/a', { subaccount: 't', authority: 'h:1' })), 'resource_suspended');
    allowed(decide(p, http('/a/b', { subaccount: 't', authority: 'h:1' })), 'h:1/a*');
  });

  it('lets an exact suspended resource deny only its own path', () => {
    denied(decide(policy, http('/api/orders/export')), 'resource_suspended');
    allowed(decide(policy, http('/api/orders/export/1')), 'erp.virtual:8000/api/orders*');
  });

  it('does not depend on the order resources are listed in', () => {
    const res = [resource('/a'), resource('/a/b', { methods: ['DELETE'] }), resource('/a/b/c', { methods: ['PUT'] })];
    for (const order of [res, [...res].reverse(), [res[1]!, res[2]!, res[0]!]]) {
      const p = compilePolicy({ t: { trusted_apps: [], mappings: [mapping('h:1', { resources: order })] } });
      const req = (target: string, method: string): AccessRequest => http(target, { subaccount: 't', authority: 'h:1', method });
      allowed(decide(p, req('/a/b/c/d', 'PUT')), 'h:1/a/b/c*');
      allowed(decide(p, req('/a/b/x', 'DELETE')), 'h:1/a/b*');
      allowed(decide(p, req('/a/x', 'GET')), 'h:1/a*');
      denied(decide(p, req('/a/b', 'GET')), 'method_not_allowed');
    }
  });
});

describe('decide: prefix boundaries', () => {
  it('covers the prefix itself, with a trailing slash, and below it', () => {
    for (const path of ['/api/orders', '/api/orders/', '/api/orders/7', '/api/orders/7/lines']) allowed(decide(policy, http(path, { method: 'POST' })), 'erp.virtual:8000/api/orders*');
  });

  it('does not cover a sibling that merely starts with the same characters', () => {
    denied(decide(policy, http('/api/orders-admin', { method: 'POST' })), 'method_not_allowed', 'api-read');
    denied(decide(policy, http('/api/ordersX', { method: 'POST' })), 'method_not_allowed', 'api-read');
    denied(decide(policy, http('/apix')), 'path_not_allowed', 'no resource of erp.virtual:8000 covers /apix');
  });

  it('lets a prefix ending in "/" cover that directory and below but not the name without the slash', () => {
    allowed(decide(policy, http('/api/public/')), 'erp.virtual:8000/api/public/*');
    allowed(decide(policy, http('/api/public/x/y')), 'erp.virtual:8000/api/public/*');
    allowed(decide(policy, http('/api/public')), 'api-read');
    const p = compilePolicy({ t: { trusted_apps: [], mappings: [mapping('h:1', { resources: [resource('/pub/')] })] } });
    denied(decide(p, http('/pub', { subaccount: 't', authority: 'h:1' })), 'path_not_allowed');
    denied(decide(p, http('/public', { subaccount: 't', authority: 'h:1' })), 'path_not_allowed');
  });

  it('matches exact resources only on the very path', () => {
    denied(decide(policy, http('/index.html')), 'path_not_allowed');
    allowed(decide(policy, http('/Docs')), 'erp.virtual:8000/Docs');
    denied(decide(policy, http('/Docs/')), 'path_not_allowed');
  });

  it('matches paths case-sensitively', () => {
    denied(decide(policy, http('/docs')), 'path_not_allowed');
  });

  it('denies a path that escapes its prefix after percent-decoding', () => {
    const d = decide(policy, http('/api/public/%2e%2e/%2e%2e/admin'));
    denied(d, 'path_not_allowed', 'covers /admin');
    assert.equal(d.path, '/admin');
  });

  it('denies a path that climbs above the root as malformed', () => {
    denied(decide(policy, http('/api/public/../../../etc/passwd')), 'malformed_request', 'above the root');
  });

  it('denies a Tomcat "..;" traversal as malformed', () => {
    denied(decide(policy, http('/api/public/..;/admin')), 'malformed_request', 'empty or only dots');
  });
});

describe('decide: readings that lenient backends would resolve differently', () => {
  it('denies a change of case that an IIS backend would map onto a suspended resource', () => {
    denied(decide(policy, http('/api/ADMIN/users')), 'malformed_request', 'ambiguous');
  });

  it('denies a path parameter that Tomcat would strip to reach a suspended resource', () => {
    denied(decide(policy, http('/api/admin;x=1/users')), 'malformed_request', 'instead of api-read');
    denied(decide(policy, http('/api/admin%3Bx/users')), 'malformed_request', 'ambiguous');
  });

  it('denies a trailing dot or space that Windows would trim to reach a suspended resource', () => {
    denied(decide(policy, http('/api/admin./users')), 'malformed_request', 'ambiguous');
    denied(decide(policy, http('/api/admin%20/users')), 'malformed_request', 'ambiguous');
  });

  it('denies an NTFS stream suffix that would reach a suspended resource', () => {
    denied(decide(policy, http('/api/admin::$INDEX_ALLOCATION/users')), 'malformed_request', 'ambiguous');
  });

  it('denies a variant of an exact resource that a lenient backend would serve as that resource', () => {
    denied(decide(policy, http('/api/orders/EXPORT')), 'malformed_request', 'ambiguous');
    denied(decide(policy, http('/api/orders/export.')), 'malformed_request', 'ambiguous');
  });

  it('denies a trailing slash that Spring MVC would match to a restricted exact resource', () => {
    denied(decide(policy, http('/api/orders/export/')), 'malformed_request', 'would apply erp.virtual:8000/api/orders/export instead of erp.virtual:8000/api/orders*');
  });

  it('allows path parameters and case changes that cannot pick another resource', () => {
    allowed(decide(policy, http('/api/orders/7;v=2')), 'erp.virtual:8000/api/orders*');
    allowed(decide(policy, http('/api/orders/7;jsessionid=A1')), 'erp.virtual:8000/api/orders*');
    allowed(decide(policy, http('/api/customers;x=1/7')), 'api-read');
    allowed(decide(policy, http('/api/Customers')), 'api-read');
    allowed(decide(policy, http('/api/orders/Items.')), 'erp.virtual:8000/api/orders*');
  });

  it('denies a trailing slash on a restricted exact resource also when every rule is lower case', () => {
    const p = compilePolicy({ t: { trusted_apps: [], mappings: [mapping('h:1', { resources: [resource('/'), resource('/admin', { match: 'exact', active: false })] })] } });
    denied(decide(p, http('/admin/', { subaccount: 't', authority: 'h:1' })), 'malformed_request', 'ambiguous');
    allowed(decide(p, http('/admins/', { subaccount: 't', authority: 'h:1' })), 'h:1/*');
  });

  it('allows OData parameters that have their own resource next to the bare service', () => {
    const p = compilePolicy({ t: { trusted_apps: [], mappings: [mapping('h:1', { resources: [
      resource('/sap/opu/odata/'), resource('/sap/opu/odata/sap/ZSRV', { methods: [] }), resource('/sap/opu/odata/sap/ZSRV;v=2', { methods: [] }),
    ] })] } });
    allowed(decide(p, http('/sap/opu/odata/sap/ZSRV;v=2/Products', { subaccount: 't', authority: 'h:1', method: 'PATCH' })), 'h:1/sap/opu/odata/sap/ZSRV;v=2*');
    allowed(decide(p, http('/sap/opu/odata/sap/OTHER;v=2/Products', { subaccount: 't', authority: 'h:1' })), 'h:1/sap/opu/odata/*');
  });

  it('denies parameters on a resource\'s own segment when the literal reading falls back to a parent', () => {
    // Literally /api/orders;v=2 is not below /api/orders (api-read would decide), Tomcat reads /api/orders.
    denied(decide(policy, http('/api/orders;v=2/7')), 'malformed_request', 'would apply erp.virtual:8000/api/orders* instead of api-read');
  });
});

describe('decide: deny reasons', () => {
  it('denies a cloud app that is not in trusted_apps with app_not_trusted', () => {
    const d = decide(policy, http('/admin', { subaccount: 'globex', cloudApp: 'shop' }));
    denied(d, 'app_not_trusted', 'cloud app "shop" is not in trusted_apps of subaccount globex');
    assert.equal(d.mapping, undefined);
    assert.equal(d.virtualHost, 'erp.virtual');
    assert.equal(d.path, '/admin');
  });

  it('allows every app when trusted_apps is empty, and listed apps when it is not', () => {
    allowed(decide(policy, http('/api/orders', { cloudApp: 'anyone' })), 'erp.virtual:8000/api/orders*');
    allowed(decide(policy, http('/admin', { subaccount: 'globex', cloudApp: 'reporting', method: 'DELETE' })), 'erp.virtual:8000/admin*');
  });

  it('denies an unparseable authority with malformed_request and empty host fields', () => {
    for (const authority of ['', 'user@erp.virtual:8000', 'erp.virtual:99999', 'erp.virtual:0', 'erp virtual:8000', '[::1', 'a:b:c']) {
      const d = decide(policy, http('/api/orders', { authority }));
      denied(d, 'malformed_request', 'authority');
      assert.equal(d.virtualHost, '');
      assert.equal(d.virtualPort, 0);
      assert.equal(d.mapping, undefined);
    }
  });

  it('denies an unsafe path with malformed_request and no path', () => {
    for (const target of ['', '*', 'api/orders', '/api/orders%2Fx', '/api/%00', '/api\\orders', '/api/%C0%AE%C0%AE/', '/a b']) {
      const d = decide(policy, http(target));
      denied(d, 'malformed_request', 'path');
      assert.equal(d.path, '');
      assert.equal(d.query, '');
      assert.equal(d.virtualHost, 'erp.virtual');
    }
  });

  it('denies a query with raw spaces, controls, non-ASCII or "#" as malformed', () => {
    for (const target of ['/api/orders?a=b c', '/api/orders?a=\r\nX: y', '/api/orders?a=\u00e9', '/api/orders?a#b']) denied(decide(policy, http(target)), 'malformed_request', 'query');
  });

  it('denies a method that is not an HTTP token, and CONNECT sent as an HTTP request', () => {
    denied(decide(policy, http('/anything', { method: 'GET /x' })), 'malformed_request', 'token');
    denied(decide(policy, http('/anything', { method: '' })), 'malformed_request', 'token');
    denied(decide(policy, http('/anything', { method: 'CONNECT' })), 'malformed_request', 'CONNECT');
    denied(decide(policy, connect('db.virtual:5432', { method: 'GET' })), 'malformed_request', 'CONNECT');
  });

  it('denies CONNECT without a port, or with a path, as malformed', () => {
    denied(decide(policy, connect('db.virtual')), 'malformed_request', 'no port');
    denied(decide(policy, connect('db.virtual:5432', { target: '/x' })), 'malformed_request', 'no path');
  });

  it('defaults the port of an HTTP request to 80', () => {
    const d = decide(policy, http('/', { authority: 'erp.virtual' }));
    denied(d, 'no_mapping', 'no mapping for erp.virtual:80 in subaccount acme');
    assert.equal(d.virtualPort, 80);
  });

  it('denies an unmapped host or port with no_mapping', () => {
    denied(decide(policy, http('/', { authority: 'erp.virtual:8001' })), 'no_mapping');
    denied(decide(policy, http('/', { authority: 'hr.virtual:8000' })), 'no_mapping');
    denied(decide(policy, connect('db.virtual:5433')), 'no_mapping');
  });

  it('denies an unknown subaccount with no_mapping', () => {
    const d = decide(policy, http('/api/orders', { subaccount: 'initech' }));
    denied(d, 'no_mapping', 'subaccount "initech" has no access rules');
    assert.equal(d.mapping, undefined);
  });

  it('denies HTTP to a tcp mapping with protocol_not_allowed and names the mapping', () => {
    const d = decide(policy, http('/', { authority: 'db.virtual:5432' }));
    denied(d, 'protocol_not_allowed', 'db.virtual:5432 is tcp');
    assert.equal(d.mapping?.id, 'acme-db');
  });

  it('denies CONNECT to an http mapping with protocol_not_allowed', () => {
    denied(decide(policy, connect('erp.virtual:8000')), 'protocol_not_allowed', 'CONNECT needs a tcp or tcps mapping');
  });

  it('denies a path no resource covers with path_not_allowed', () => {
    const d = decide(policy, http('/admin'));
    denied(d, 'path_not_allowed', 'no resource of erp.virtual:8000 covers /admin');
    assert.equal(d.mapping?.virtualHost, 'erp.virtual');
  });

  it('denies everything on an http mapping without resources', () => {
    const p = compilePolicy({ t: { trusted_apps: [], mappings: [mapping('h:1')] } });
    denied(decide(p, http('/', { subaccount: 't', authority: 'h:1' })), 'path_not_allowed');
  });

  it('denies a suspended resource with resource_suspended', () => {
    denied(decide(policy, http('/api/admin')), 'resource_suspended');
  });

  it('denies an unlisted method with method_not_allowed', () => {
    denied(decide(policy, http('/api/orders', { method: 'DELETE' })), 'method_not_allowed', 'does not allow DELETE');
    denied(decide(policy, http('/api/orders', { method: 'get' })), 'method_not_allowed', 'does not allow get');
  });

  it('denies a websocket upgrade where the resource does not allow it, with protocol_not_allowed', () => {
    denied(decide(policy, http('/api/orders', { upgrade: true })), 'protocol_not_allowed', 'websocket upgrade is not allowed');
  });

  it('keeps every detail on one line even for hostile names', () => {
    const d = decide(policy, http('/', { subaccount: 'x\r\ny', cloudApp: 'a\nb' }));
    assert.ok(!/[\r\n]/.test(d.detail), d.detail);
    const e = decide(policy, http('/', { subaccount: 'globex', cloudApp: 'evil\r\nInjected: yes' }));
    denied(e, 'app_not_trusted');
    assert.ok(!/[\r\n]/.test(e.detail), e.detail);
  });
});

describe('decide: order of the checks', () => {
  it('reports app_not_trusted before a malformed request', () => {
    denied(decide(policy, http('/%zz', { subaccount: 'globex', cloudApp: 'shop', authority: 'bad host' })), 'app_not_trusted');
  });

  it('reports malformed_request before no_mapping, also for unknown subaccounts', () => {
    denied(decide(policy, http('/%2F', { authority: 'nowhere:1' })), 'malformed_request');
    denied(decide(policy, http('/x', { subaccount: 'initech', authority: 'a@b' })), 'malformed_request');
  });

  it('reports protocol_not_allowed before path_not_allowed', () => {
    denied(decide(policy, http('/not/covered', { authority: 'db.virtual:5432' })), 'protocol_not_allowed');
  });

  it('reports path_not_allowed before a method or upgrade problem', () => {
    denied(decide(policy, http('/nothing', { method: 'DELETE', upgrade: true })), 'path_not_allowed');
  });

  it('reports resource_suspended before method_not_allowed', () => {
    denied(decide(policy, http('/api/admin', { method: 'DELETE' })), 'resource_suspended');
  });

  it('reports method_not_allowed before a forbidden upgrade', () => {
    denied(decide(policy, http('/api/orders', { method: 'DELETE', upgrade: true })), 'method_not_allowed');
  });
});

describe('decide: isolation between subaccounts', () => {
  it('looks a request up only in its own subaccount, whatever host it names', () => {
    // erp.virtual:8000 exists in both; /admin is only allowed in globex.
    denied(decide(policy, http('/admin', { method: 'DELETE' })), 'path_not_allowed');
    const g = decide(policy, http('/admin', { subaccount: 'globex', cloudApp: 'billing', method: 'DELETE' }));
    allowed(g, 'erp.virtual:8000/admin*');
    assert.equal(g.mapping?.internalHost, 'globex-erp.corp');
  });

  it('does not see a mapping that only another subaccount has', () => {
    denied(decide(policy, connect('mq.virtual:1414')), 'no_mapping');
    denied(decide(policy, connect('db.virtual:5432', { subaccount: 'globex', cloudApp: 'billing' })), 'no_mapping');
  });

  it('applies trusted_apps of the request\'s subaccount only', () => {
    allowed(decide(policy, http('/api/orders', { cloudApp: 'billing' })), 'erp.virtual:8000/api/orders*');
    denied(decide(policy, http('/admin', { subaccount: 'globex', cloudApp: 'shop' })), 'app_not_trusted');
  });
});

describe('compilePolicy', () => {
  function problemsOf(rules: Subaccounts): string[] {
    try {
      compilePolicy(rules);
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      assert.equal(err.code, 'TW_ERR_CONFIG_INVALID');
      return err.problems;
    }
    assert.fail('expected a ConfigError');
  }

  it('rejects a virtual host:port mapped twice in a subaccount, naming the key', () => {
    assert.deepEqual(problemsOf({ acme: { trusted_apps: [], mappings: [mapping('erp.virtual:8000'), mapping('ERP.virtual.:8000')] } }), [
      'subaccounts.acme.mappings[1].virtual: erp.virtual:8000 is mapped twice in subaccount acme',
    ]);
  });

  it('allows the same virtual host:port in different subaccounts', () => {
    assert.doesNotThrow(() => compilePolicy({ a: { trusted_apps: [], mappings: [mapping('h:1')] }, b: { trusted_apps: [], mappings: [mapping('h:1')] } }));
  });

  it('rejects resources on tcp and tcps mappings', () => {
    const problems = problemsOf({ acme: { trusted_apps: [], mappings: [mapping('db:1', { protocol: 'tcp', resources: [resource('/')] }), mapping('db:2', { protocol: 'tcps', resources: [resource('/')] })] } });
    assert.equal(problems.length, 2);
    assert.match(problems[0]!, /^subaccounts\.acme\.mappings\[0\]\.resources: tcp mappings carry no HTTP resources/);
    assert.match(problems[1]!, /^subaccounts\.acme\.mappings\[1\]\.resources: tcps mappings/);
  });

  it('rejects a resource path that is not normalised and says what to write', () => {
    assert.deepEqual(problemsOf({ acme: { trusted_apps: [], mappings: [mapping('h:1', { resources: [resource('/a//b/../c/%7e')] })] } }), [
      'subaccounts.acme.mappings[0].resources[0].path: /a//b/../c/%7e is not normalised; write /a/c/~',
    ]);
  });

  it('rejects a resource path that normalisation refuses', () => {
    const problems = problemsOf({ acme: { trusted_apps: [], mappings: [mapping('h:1', { resources: [resource('/a/..;/b')] })] } });
    assert.match(problems[0]!, /^subaccounts\.acme\.mappings\[0\]\.resources\[0\]\.path: \/a\/\.\.;\/b is not a valid path: /);
  });

  it('rejects duplicate explicit rule ids within a subaccount', () => {
    const problems = problemsOf({ acme: { trusted_apps: [], mappings: [
      mapping('h:1', { resources: [resource('/a', { id: 'r1' })] }),
      mapping('h:2', { resources: [resource('/b', { id: 'r1' })] }),
    ] } });
    assert.deepEqual(problems, ['subaccounts.acme.mappings[1].resources[0].id: rule id r1 is used twice in subaccount acme (first at subaccounts.acme.mappings[0].resources[0].id)']);
  });

  it('rejects an explicit rule id that equals a default one', () => {
    const problems = problemsOf({ acme: { trusted_apps: [], mappings: [mapping('h:1', { resources: [resource('/a'), resource('/b', { id: 'h:1' })] })] } });
    assert.equal(problems.length, 1);
    assert.match(problems[0]!, /resources\[1\]\.id: rule id h:1 is used twice/);
  });

  it('allows the same rule id in different subaccounts', () => {
    assert.doesNotThrow(() => compilePolicy({
      a: { trusted_apps: [], mappings: [mapping('h:1', { resources: [resource('/a', { id: 'r' })] })] },
      b: { trusted_apps: [], mappings: [mapping('h:1', { resources: [resource('/a', { id: 'r' })] })] },
    }));
  });

  it('rejects the same path and match listed twice for a mapping', () => {
    const problems = problemsOf({ acme: { trusted_apps: [], mappings: [mapping('h:1', { resources: [resource('/a', { id: 'x' }), resource('/a', { id: 'y' })] })] } });
    assert.deepEqual(problems, ['subaccounts.acme.mappings[0].resources[1].path: /a (prefix) is listed twice for h:1 (first at resources[0])']);
  });

  it('rejects CONNECT in the methods of an HTTP resource', () => {
    assert.match(problemsOf({ acme: { trusted_apps: [], mappings: [mapping('h:1', { resources: [resource('/', { methods: ['CONNECT'] })] })] } })[0]!, /methods: CONNECT/);
  });

  it('reports every problem at once', () => {
    const problems = problemsOf({
      acme: { trusted_apps: [], mappings: [mapping('h:1', { resources: [resource('/a/')] }), mapping('h:1'), mapping('t:1', { protocol: 'tcp', resources: [resource('/')] })] },
      beta: { trusted_apps: [], mappings: [mapping('h:1', { resources: [resource('/x/.')] })] },
    });
    assert.equal(problems.length, 3);
    assert.ok(problems.some((p) => p.startsWith('subaccounts.beta.mappings[0].resources[0].path')));
  });

  it('sets the Host header to the virtual or the internal host:port as configured', () => {
    const d = decide(policy, http('/'));
    assert.equal(d.mapping?.hostHeader, 'erp.virtual:8000');
    assert.equal(d.mapping?.ca, 'ca/erp.pem');
    assert.equal(decide(policy, http('/', { authority: '[fd00::1]:9000' })).mapping?.hostHeader, '[fd00::2]:9000');
  });

  it('freezes what it compiles', () => {
    const m = decide(policy, http('/')).mapping!;
    assert.ok(Object.isFrozen(m) && Object.isFrozen(m.resources) && Object.isFrozen(m.resources[0]));
  });
});

describe('describePolicy', () => {
  it('gives a JSON-able snapshot of every rule', () => {
    const snapshot = describePolicy(policy) as { subaccounts: { subaccount: string; trusted_apps: string[]; mappings: { id: string; virtual: string; resources: { id: string; methods: string[] }[] }[] }[] };
    assert.deepEqual(JSON.parse(JSON.stringify(snapshot)), snapshot);
    assert.deepEqual(snapshot.subaccounts.map((s) => s.subaccount), ['acme', 'globex']);
    assert.deepEqual(snapshot.subaccounts[1]!.trusted_apps, ['billing', 'reporting']);
    const erp = snapshot.subaccounts[0]!.mappings[0]!;
    assert.equal(erp.virtual, 'erp.virtual:8000');
    assert.equal(erp.resources.length, 10);
    assert.deepEqual(erp.resources[1], { id: 'erp.virtual:8000/api/orders*', path: '/api/orders', match: 'prefix', methods: ['GET', 'POST'], active: true, websocket: false });
    assert.deepEqual(snapshot.subaccounts[0]!.mappings[1], { id: 'acme-db', virtual: 'db.virtual:5432', internal: 'db.corp.local:5432', protocol: 'tcp', host_header: 'db.virtual:5432', ca: null, resources: [] });
  });
});

describe('looseCovers', () => {
  /** The reference: build loosePath() strings and compare them. */
  function reference(rulePath: string, exact: boolean, path: string): boolean {
    const rp = loosePath(rulePath);
    const lp = loosePath(path);
    if (!exact) return covers({ path: rp, endsWithSlash: rp.endsWith('/'), resource: undefined as never }, lp);
    const trim = (x: string): string => (x.endsWith('/') ? x.slice(0, -1) : x);
    return trim(rp) === trim(lp);
  }

  function rule(rulePath: string, exact: boolean): LooseRule {
    const path = loosePath(rulePath);
    const segments = path.split('/').slice(1);
    if (exact && segments[segments.length - 1] === '') segments.pop();
    return { resource: undefined as never, path, endsWithSlash: path.endsWith('/'), exact, segments };
  }

  it('agrees with comparing loosePath() strings, for random paths and rules', () => {
    const pieces = ['a', 'A', 'b', 'ab', 'a.', 'a;x', 'a%3Bx', 'a::$D', 'a%20', 'B.'];
    let seed = 7;
    const next = (): number => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    const randomPath = (): string => {
      let p = '';
      const len = Math.floor(next() * 4);
      for (let k = 0; k < len; k++) p += `/${pieces[Math.floor(next() * pieces.length)]!}`;
      if (p === '' || next() < 0.3) p += '/';
      return p;
    };
    let checked = 0;
    for (let n = 0; n < 20000; n++) {
      const rp = randomPath();
      const path = randomPath();
      if (!normalizePath(rp).ok || !normalizePath(path).ok) continue;
      const exact = next() < 0.5;
      assert.equal(looseCovers(rule(rp, exact), path), reference(rp, exact, path), `${exact ? 'exact' : 'prefix'} ${rp} vs ${path}`);
      checked += 1;
    }
    assert.ok(checked > 10000);
  });
});
