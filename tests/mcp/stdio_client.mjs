// `orb mcp serve` over stdio, driven by the official SDK's Client and
// StdioClientTransport. See common.mjs for the environment. Prints
// "MCP_RTT list_templates_ms=X get_request_status_ms=Y" (medians of 100 calls) when
// ORB_MCP_PART=all, and "MCP_STDIO_OK" at the end.

import assert from 'node:assert/strict';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { env, log, watchdog, checkInitialized, transportScenario, fullScenario, argsFor,
  payload } from './common.mjs';

watchdog(300);

async function connect(extraArgs = []) {
  const transport = new StdioClientTransport({
    command: env.orb,
    args: ['mcp', 'serve', ...extraArgs],
    env: env.sandbox,
    stderr: 'pipe',
  });
  let stderr = '';
  transport.stderr?.on('data', (d) => { stderr += d; });
  let negotiated;
  transport.setProtocolVersion = (v) => { negotiated = v; };
  const client = new Client({ name: 'orb-mcp-test', version: '1.0.0' });
  await client.connect(transport);
  return { client, transport, negotiated, stderr: () => stderr };
}

function median(values) {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function rtt(client, name, args) {
  const times = [];
  for (let i = 0; i < 100; i++) {
    const t = process.hrtime.bigint();
    const r = await client.callTool({ name, arguments: args });
    times.push(Number(process.hrtime.bigint() - t) / 1e6);
    assert.ok(!r.isError, `${name} succeeded`);
  }
  return median(times).toFixed(2);
}

const { client, negotiated, stderr } = await connect();
try {
  checkInitialized(client, negotiated);
  await transportScenario(client);
  if (env.part === 'all') {
    const { byName, requestId } = await fullScenario(client, 'stdio');
    const lt = await rtt(client, 'list_templates', {});
    const gs = await rtt(client, 'get_request_status', argsFor(byName.get_request_status,
      { request: requestId }));
    log(`MCP_RTT list_templates_ms=${lt} get_request_status_ms=${gs}`);

    // --read-only: a real request is refused, a dry run is not.
    const ro = await connect(['--read-only']);
    const refused = await ro.client.callTool({ name: 'request_machines',
      arguments: argsFor(byName.request_machines, { template: env.template, count: 1 }) });
    assert.ok(refused.isError, '--read-only refuses request_machines');
    assert.match(JSON.stringify(refused.content), /read.only/i);
    const dry = await ro.client.callTool({ name: 'request_machines',
      arguments: argsFor(byName.request_machines, { template: env.template, count: 1, dry_run: true }) });
    assert.ok(!dry.isError, `--read-only still answers a dry run: ${JSON.stringify(payload(dry))}`);
    await ro.client.close();
    log('read-only: request_machines refused, its dry run answered');
  }
} catch (e) {
  console.error(`FAIL: ${e.stack || e}\n--- orb's stderr:\n${stderr()}`);
  process.exit(1);
}
await client.close();
log('MCP_STDIO_OK');
