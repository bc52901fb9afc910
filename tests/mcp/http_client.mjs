// The streamable HTTP transport at ORB_MCP_URL (`orb mcp serve --port P`, or /mcp
// inside `orb serve`): the HTTP rules checked with plain fetch (session header,
// Origin, protocol version header, Accept, Content-Type, a body that is not JSON,
// the event stream, DELETE), then the official SDK's Client with
// StreamableHTTPClientTransport (notifications arrive on the GET stream). See
// common.mjs for the environment. Prints "MCP_HTTP_OK" at the end.

import assert from 'node:assert/strict';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { env, log, watchdog, checkInitialized, transportScenario, fullScenario } from './common.mjs';

watchdog(300);

const url = env.url;
const BOTH = 'application/json, text/event-stream';
const init = (id = 1) => ({
  jsonrpc: '2.0', id, method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '0' } },
});

async function post(body, headers = {}) {
  const r = await fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: BOTH, ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await r.text();
  let json;
  try { json = JSON.parse(text); } catch { json = undefined; }
  return { status: r.status, headers: r.headers, text, json };
}

function expectRpcError(r, status, what, code) {
  assert.equal(r.status, status, `${what}: HTTP ${status}: ${r.status} ${r.text}`);
  assert.equal(r.json?.jsonrpc, '2.0', `${what}: a JSON-RPC body: ${r.text}`);
  assert.ok(r.json?.error?.message, `${what}: an error message`);
  if (code !== undefined) assert.equal(r.json.error.code, code, `${what}: code ${code}`);
  log(`${what}: ${r.status} ${r.json.error.message}`);
}

async function rawChecks() {
  expectRpcError(await post({ jsonrpc: '2.0', id: 1, method: 'ping' }), 400, 'no Mcp-Session-Id');
  expectRpcError(await post(init(), { Origin: 'http://evil.example' }), 403, 'a foreign Origin');
  expectRpcError(await post(init(), { Origin: 'http://127.0.0.1.evil.example:80' }), 403,
    'a look-alike Origin');
  expectRpcError(await post('{"jsonrpc": "2.0", "id": 1, "method": ', {}), 400, 'a body that is not JSON',
    -32700);
  expectRpcError(await post(init(), { Accept: 'application/json' }), 406, 'Accept without event-stream');
  expectRpcError(await post(init(), { 'Content-Type': 'text/plain' }), 415, 'a body not sent as JSON');
  expectRpcError(await post(init(), { 'MCP-Protocol-Version': '1999-01-01' }), 400,
    'an unsupported MCP-Protocol-Version');

  // A session, opened from a loopback Origin (a local browser page is allowed).
  const opened = await post(init(), { Origin: 'http://localhost:6274' });
  assert.equal(opened.status, 200, opened.text);
  assert.match(opened.headers.get('content-type'), /application\/json/);
  const sid = opened.headers.get('mcp-session-id');
  assert.ok(sid && /^[\x21-\x7e]{16,}$/.test(sid), `a visible-ASCII session id: ${sid}`);
  assert.equal(opened.json.result.protocolVersion, '2025-06-18', 'the version asked for is granted');
  const h = { 'Mcp-Session-Id': sid, 'MCP-Protocol-Version': '2025-06-18' };
  const note = await post({ jsonrpc: '2.0', method: 'notifications/initialized' }, h);
  assert.equal(note.status, 202, `a notification: 202 ${note.text}`);
  assert.equal(note.text, '', 'with no body');
  const ping = await post({ jsonrpc: '2.0', id: 2, method: 'ping' }, h);
  assert.equal(ping.status, 200, ping.text);
  assert.deepEqual(ping.json, { jsonrpc: '2.0', id: 2, result: {} });
  expectRpcError(await post({ jsonrpc: '2.0', id: 3, method: 'ping' },
    { 'Mcp-Session-Id': 'no-such-session' }), 404, 'an unknown session');
  const batch = await post([{ jsonrpc: '2.0', id: 4, method: 'ping' }], h);
  assert.equal(batch.status, 400, `a batch is refused: ${batch.text}`);

  // The event stream of the session: text/event-stream, one per session.
  const ac = new AbortController();
  const stream = await fetch(url, { headers: { ...h, Accept: 'text/event-stream' }, signal: ac.signal });
  assert.equal(stream.status, 200);
  assert.match(stream.headers.get('content-type'), /text\/event-stream/);
  const second = await fetch(url, { headers: { ...h, Accept: 'text/event-stream' } });
  assert.equal(second.status, 409, 'a second stream of the same session is refused');
  await second.text();
  ac.abort();
  const noSession = await fetch(url, { headers: { Accept: 'text/event-stream' } });
  assert.equal(noSession.status, 400, 'GET without a session id: 400');
  await noSession.text();

  // DELETE ends it; it is then unknown.
  const del = await fetch(url, { method: 'DELETE', headers: h });
  assert.ok(del.status === 204 || del.status === 200, `DELETE: ${del.status}`);
  expectRpcError(await post({ jsonrpc: '2.0', id: 5, method: 'ping' }, h), 404, 'a deleted session');
}

let client;
try {
  await rawChecks();
  const transport = new StreamableHTTPClientTransport(new URL(url));
  client = new Client({ name: 'orb-mcp-test', version: '1.0.0' });
  await client.connect(transport);
  assert.ok(transport.sessionId, 'the SDK got a session id');
  checkInitialized(client, transport.protocolVersion);
  await transportScenario(client);
  if (env.part === 'all') await fullScenario(client, `http ${url}`);
  await transport.terminateSession();
  await client.close();
} catch (e) {
  console.error(`FAIL: ${e.stack || e}`);
  process.exit(1);
}
log('MCP_HTTP_OK');
