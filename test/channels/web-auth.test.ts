import assert from 'node:assert/strict';
import type http from 'node:http';
import { describe, it } from 'node:test';
import { COOKIE, cookieFor, newToken, sameOrigin, sameToken, tokenOf } from '../../src/channels/web-auth.js';

const request = (headers: http.IncomingHttpHeaders) => ({ headers }) as http.IncomingMessage;

describe('the web view: token and origin rules', () => {
  it('a token is long and random; only the same one matches; it comes from ?token= or the cookie', () => {
    const token = newToken();
    assert.ok(token.length >= 43 && /^[A-Za-z0-9_-]+$/.test(token));
    assert.notEqual(newToken(), token);
    assert.ok(sameToken(token, token));
    assert.ok(!sameToken(`${token}x`, token));
    assert.ok(!sameToken('', token));
    assert.ok(!sameToken(undefined, token));
    assert.equal(tokenOf(request({}), new URL(`http://h/?token=${token}`)), token);
    assert.equal(tokenOf(request({ cookie: `other=1; ${COOKIE}=${token}` }), new URL('http://h/')), token);
    assert.equal(tokenOf(request({}), new URL('http://h/')), undefined);
    assert.match(cookieFor(token), /; HttpOnly; SameSite=Strict; Path=\/$/);
  });

  it('a POST must come from the page: its own origin on loopback; with --allow-remote, the Host it was reached by', () => {
    const own = ['http://127.0.0.1:7341', 'http://localhost:7341'];
    assert.ok(sameOrigin(request({ origin: 'http://127.0.0.1:7341' }), own, false));
    assert.ok(!sameOrigin(request({ origin: 'http://evil.example' }), own, false));
    assert.ok(!sameOrigin(request({}), own, false), 'no Origin: refused');
    // DNS rebinding: evil.example resolving to 127.0.0.1 sends its own name as Host and Origin; on loopback that is refused.
    assert.ok(!sameOrigin(request({ origin: 'http://evil.example:7341', host: 'evil.example:7341' }), own, false));
    assert.ok(sameOrigin(request({ origin: 'http://10.0.0.5:7341', host: '10.0.0.5:7341' }), ['http://0.0.0.0:7341'], true));
    assert.ok(!sameOrigin(request({ origin: 'http://evil.example', host: '10.0.0.5:7341' }), ['http://0.0.0.0:7341'], true));
  });
});
