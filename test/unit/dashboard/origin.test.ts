// The Origin check that state-changing session requests (and sign-ins) pass before their CSRF token counts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FastifyRequest } from 'fastify';
import { sameOrigin } from '../../../dashboard/auth/auth-service.js';

function request(headers: Record<string, string>): FastifyRequest {
  return { headers } as unknown as FastifyRequest;
}

describe('same-origin check', () => {
  it('passes a request without Origin (curl, scripts) and one from the dashboard itself', () => {
    assert.equal(sameOrigin(request({ host: 'dash.example:8443' })), true);
    assert.equal(sameOrigin(request({ host: 'dash.example:8443', origin: 'https://dash.example:8443' })), true);
    assert.equal(sameOrigin(request({ host: 'DASH.example', origin: 'https://dash.example' })), true);
    assert.equal(sameOrigin(request({ host: 'dash.example:443', origin: 'https://dash.example' })), true, 'default port on one side only');
  });

  it('refuses another host, another port, a look-alike and Origin: null', () => {
    for (const origin of ['https://evil.example', 'https://dash.example:8444', 'https://dash.example.evil.example:8443', 'null', 'not a url']) {
      assert.equal(sameOrigin(request({ host: 'dash.example:8443', origin })), false, origin);
    }
  });
});
