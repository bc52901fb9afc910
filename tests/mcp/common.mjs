// Shared by the MCP client scripts (run by tests/mcp/mcp_sdk_test.cc): the sandbox's
// environment, checks, and the scenarios driven through the official TypeScript SDK.
//
// Environment: ORB_BINARY (the orb under test), ORB_SANDBOX_ENV (JSON object: the
// environment orb runs with, pointing at moto), ORB_MCP_SECRET (the sandbox's AWS
// secret key: it must never appear in anything the server says), ORB_MCP_URL (HTTP
// scripts), ORB_MCP_PART ("transport": what the transports do; "all": every tool,
// resource and prompt against moto), ORB_MCP_TEMPLATE (default OnDemand-Micro).

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { ResourceUpdatedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';

export const env = {
  orb: process.env.ORB_BINARY,
  sandbox: JSON.parse(process.env.ORB_SANDBOX_ENV || '{}'),
  secret: process.env.ORB_MCP_SECRET || '',
  url: process.env.ORB_MCP_URL || '',
  part: process.env.ORB_MCP_PART || 'transport',
  template: process.env.ORB_MCP_TEMPLATE || 'OnDemand-Micro',
};

export const PROTOCOL_VERSIONS = ['2025-11-25', '2025-06-18', '2025-03-26'];

export const TOOLS = [
  'check_provider_health', 'list_providers', 'get_provider_config', 'get_provider_metrics',
  'list_templates', 'get_template', 'validate_template', 'request_machines',
  'get_request_status', 'list_requests', 'list_return_requests', 'return_machines',
  'list_machines', 'get_machine', 'cancel_request',
];

export const PROMPTS = ['provision_infrastructure', 'troubleshoot_deployment',
  'infrastructure_best_practices'];

export function log(...args) {
  console.log(...args);
}

// Fails the script if it runs longer than `seconds`.
export function watchdog(seconds) {
  const t = setTimeout(() => {
    console.error(`FAIL: still running after ${seconds} s`);
    process.exit(3);
  }, seconds * 1000);
  t.unref();
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Everything the server said, to look for the secret in.
const heard = [];
export function hear(value) {
  heard.push(typeof value === 'string' ? value : JSON.stringify(value));
  return value;
}
export function checkNoSecret() {
  if (!env.secret) return;
  for (const text of heard) {
    assert.ok(!text.includes(env.secret), 'the sandbox secret key appeared in an answer');
  }
}

// Runs the orb CLI with the sandbox's environment (to change the store behind the
// MCP server's back); resolves with its stdout.
export function orbCli(args) {
  return new Promise((resolve, reject) => {
    const p = spawn(env.orb, args, { env: env.sandbox, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => { out += d; });
    p.stderr.on('data', (d) => { err += d; });
    p.on('close', (code) => (code === 0 ? resolve(out)
      : reject(new Error(`orb ${args.join(' ')} exited ${code}: ${err}`))));
  });
}

// Checks what initialize negotiated.
export function checkInitialized(client, negotiated) {
  const info = client.getServerVersion();
  assert.equal(info?.name, 'orb', `serverInfo.name is orb: ${JSON.stringify(info)}`);
  assert.ok(info?.version, 'serverInfo.version is set');
  assert.ok(PROTOCOL_VERSIONS.includes(negotiated), `negotiated a version orb speaks: ${negotiated}`);
  assert.equal(negotiated, PROTOCOL_VERSIONS[0], 'the SDK asks for the newest; orb grants it');
  log(`initialized: ${info.name} ${info.version}, protocol ${negotiated}`);
}

// Collects notifications/resources/updated.
export function watchUpdates(client) {
  const updates = [];
  client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => {
    updates.push(n.params.uri);
  });
  return updates;
}

export async function waitFor(predicate, ms, what) {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (predicate()) return;
    await sleep(100);
  }
  assert.fail(`timed out after ${ms} ms waiting for ${what}`);
}

// The transport part: ping, a subscription fed by a change made behind the server's
// back (a request created by the orb CLI in the same store).
export async function transportScenario(client) {
  await client.ping();
  const updates = watchUpdates(client);
  await client.subscribeResource({ uri: 'requests://' });
  const created = JSON.parse(await orbCli(['requests', 'create', '--template-id', env.template,
    '--count', '1', '--format', 'json']));
  const id = created.request_id || created.requestId;
  assert.ok(id, `orb requests create answered a request id: ${JSON.stringify(created)}`);
  await waitFor(() => updates.includes('requests://'), 15000,
    'notifications/resources/updated for requests:// after a request was created');
  log(`subscription: requests:// updated after ${id} was created`);
  await client.unsubscribeResource({ uri: 'requests://' });
  return id;
}

// --- the full scenario (needs the protocol core) -----------------------------------

// A tool result's payload: structuredContent, else its first text content as JSON
// (or the text itself).
export function payload(result) {
  hear(result);
  if (result.structuredContent) return result.structuredContent;
  const text = (result.content || []).filter((c) => c.type === 'text').map((c) => c.text).join('\n');
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function textOf(result) {
  return (result.content || []).filter((c) => c.type === 'text').map((c) => c.text).join('\n');
}

// The first value of a key matching `keyRe` whose value matches `valueRe`, anywhere.
export function find(value, keyRe, valueRe = /.*/) {
  if (Array.isArray(value)) {
    for (const v of value) {
      const f = find(v, keyRe, valueRe);
      if (f !== undefined) return f;
    }
  } else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (keyRe.test(k) && typeof v === 'string' && valueRe.test(v)) return v;
    }
    for (const v of Object.values(value)) {
      const f = find(v, keyRe, valueRe);
      if (f !== undefined) return f;
    }
  }
  return undefined;
}

// Arguments for `tool` from meanings to the names its inputSchema uses.
export function argsFor(tool, wanted) {
  const props = tool.inputSchema?.properties || {};
  const args = {};
  const pick = (re) => Object.keys(props).find((k) => re.test(k));
  const put = (re, value) => {
    const key = pick(re);
    if (!key) return;
    args[key] = props[key].type === 'array' && !Array.isArray(value) ? [value] : value;
  };
  if (wanted.template !== undefined) put(/^template_?id$|^template$/i, wanted.template);
  if (wanted.count !== undefined) put(/count|number|machines?_?count/i, wanted.count);
  if (wanted.request !== undefined) put(/^request_?ids?$/i, wanted.request);
  if (wanted.machine !== undefined) put(/^machine(_?ids?)?$|^machines$/i, wanted.machine);
  if (wanted.provider !== undefined) put(/provider/i, wanted.provider);
  if (wanted.dry_run !== undefined) put(/dry_?run/i, wanted.dry_run);
  return args;
}

export async function fullScenario(client, label) {
  const started = Date.now();
  const { tools } = hear(await client.listTools());
  const byName = Object.fromEntries(tools.map((t) => [t.name, t]));
  for (const name of TOOLS) {
    assert.ok(byName[name], `tool ${name} is listed`);
    assert.equal(byName[name].inputSchema?.type, 'object', `${name} has an object inputSchema`);
    assert.ok(byName[name].description, `${name} has a description`);
  }
  assert.equal(tools.length, TOOLS.length, `exactly ${TOOLS.length} tools: ${tools.map((t) => t.name)}`);
  const call = async (name, wanted = {}, extra = {}) => {
    const r = await client.callTool({ name, arguments: { ...argsFor(byName[name], wanted), ...extra } });
    hear(r);
    assert.ok(!r.isError, `${name} succeeded: ${textOf(r)}`);
    return payload(r);
  };

  // Providers, health, config (secrets redacted), metrics.
  const providers = await call('list_providers');
  const providerName = find(providers, /^name$/);
  await call('check_provider_health', { provider: providerName });
  const config = await call('get_provider_config', { provider: providerName });
  assert.ok(JSON.stringify(config).length > 2, 'get_provider_config answers something');
  await call('get_provider_metrics');

  // Templates.
  const templates = await call('list_templates');
  assert.ok(JSON.stringify(templates).includes(env.template), `${env.template} is listed`);
  const tmpl = await call('get_template', { template: env.template });
  assert.ok(JSON.stringify(tmpl).includes(env.template));
  // A copy of that template under a new id (the snake_case record reads back as a template).
  const record = tmpl.template || tmpl;
  const checked = await call('validate_template', {}, { template: { ...record, template_id: `${env.template}-Copy` } });
  assert.ok(JSON.stringify(checked).includes('true'), `the copy is valid: ${JSON.stringify(checked)}`);

  // Requests: a dry run changes nothing, a real one launches in moto.
  const before = JSON.stringify(await call('list_requests'));
  const dry = await call('request_machines', { template: env.template, count: 1, dry_run: true });
  assert.ok(JSON.stringify(dry).toLowerCase().includes('dry'), `the dry run says so: ${JSON.stringify(dry)}`);
  const afterDry = JSON.stringify(await call('list_requests'));
  assert.equal((afterDry.match(/req-/g) || []).length, (before.match(/req-/g) || []).length,
    'a dry run creates no request');
  const updates = watchUpdates(client);
  const created = await call('request_machines', { template: env.template, count: 1 });
  const requestId = find(created, /request_?id/i, /^req-/);
  assert.ok(requestId, `request_machines answered a request id: ${JSON.stringify(created)}`);
  await client.subscribeResource({ uri: `requests://${requestId}` });
  let status;
  for (let i = 0; i < 100; i++) {
    status = await call('get_request_status', { request: requestId });
    const s = find(status, /^status$/);
    if (s === 'complete' || s === 'complete_with_error') break;
    await sleep(200);
  }
  assert.equal(find(status, /^status$/), 'complete', `the request completed: ${JSON.stringify(status)}`);
  await waitFor(() => updates.includes(`requests://${requestId}`), 15000,
    `notifications/resources/updated for requests://${requestId}`);
  const machineId = find(status, /machine_?id/i, /^i-/);
  assert.ok(machineId, 'the request has a machine');
  const machines = await call('list_machines', { request: requestId });
  assert.ok(JSON.stringify(machines).includes(machineId));
  await call('get_machine', { machine: machineId });

  // Resources.
  const { resources } = hear(await client.listResources());
  assert.ok(resources.length > 0, 'resources are listed');
  const item = hear(await client.readResource({ uri: `requests://${requestId}` }));
  assert.ok(JSON.stringify(item).includes(requestId), 'requests://<id> reads the request');
  hear(await client.readResource({ uri: 'templates://' }));

  // Prompts, with live data.
  const { prompts } = hear(await client.listPrompts());
  for (const name of PROMPTS) assert.ok(prompts.find((p) => p.name === name), `prompt ${name} listed`);
  for (const p of prompts) {
    const args = {};
    for (const a of p.arguments || []) {
      if (!a.required) continue;
      args[a.name] = /template/i.test(a.name) ? env.template : /request/i.test(a.name) ? requestId : '1';
    }
    const got = hear(await client.getPrompt({ name: p.name, arguments: args }));
    assert.ok(got.messages?.length > 0, `prompt ${p.name} has messages`);
    if (p.name === 'provision_infrastructure') {
      assert.ok(JSON.stringify(got).includes(env.template), 'the prompt carries the live templates');
    }
  }

  // Return the machine; cancel a second request.
  const returned = await call('return_machines', { machine: machineId, request: requestId });
  assert.ok(JSON.stringify(returned).length > 2);
  await call('list_return_requests');
  const second = await call('request_machines', { template: env.template, count: 1 });
  const secondId = find(second, /request_?id/i, /^req-/);
  await call('cancel_request', { request: secondId });

  // Errors: an unknown tool, bad arguments naming the field.
  let unknown;
  try {
    const r = await client.callTool({ name: 'no_such_tool', arguments: {} });
    unknown = r.isError ? textOf(r) : undefined;
  } catch (e) {
    unknown = e.message;
  }
  assert.ok(unknown && unknown.includes('no_such_tool'), `an unknown tool is refused by name: ${unknown}`);
  let bad;
  const countKey = Object.keys(argsFor(byName.request_machines, { count: 1 }))[0] || 'count';
  try {
    const r = await client.callTool({ name: 'request_machines',
      arguments: { ...argsFor(byName.request_machines, { template: env.template }), [countKey]: 'many' } });
    bad = r.isError ? textOf(r) : undefined;
  } catch (e) {
    bad = e.message;
  }
  assert.ok(bad && bad.includes(countKey), `bad arguments are refused naming ${countKey}: ${bad}`);

  checkNoSecret();
  log(`${label}: every tool, resource and prompt answered (${Date.now() - started} ms); ` +
      `request ${requestId}, machine ${machineId}`);
  return { byName, requestId };
}
