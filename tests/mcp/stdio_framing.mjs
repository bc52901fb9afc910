// Raw framing abuse of `orb mcp serve` on stdio (no SDK): a line that is not JSON, a
// JSON array, a truncated object, an over-long line and a blank line each get their
// answer (a JSON-RPC error, or nothing for the blank) and the server keeps reading: a
// ping after each is answered. End of input ends it with exit code 0, and every line
// it wrote on stdout is one JSON-RPC message. Prints "FRAMING_OK".

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { env, log, watchdog } from './common.mjs';

watchdog(120);

const child = spawn(env.orb, ['mcp', 'serve'], { env: env.sandbox, stdio: ['pipe', 'pipe', 'pipe'] });
let stderr = '';
child.stderr.on('data', (d) => { stderr += d; });
let buffered = '';
const lines = [];
const waiters = [];
child.stdout.on('data', (d) => {
  buffered += d;
  let nl;
  while ((nl = buffered.indexOf('\n')) >= 0) {
    lines.push(buffered.slice(0, nl));
    buffered = buffered.slice(nl + 1);
  }
  while (waiters.length && lines.length) waiters.shift()(lines.shift());
});
const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));

function next(ms = 10000) {
  if (lines.length) return Promise.resolve(lines.shift());
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no answer within ${ms} ms; stderr:\n${stderr}`)), ms);
    waiters.push((l) => { clearTimeout(t); resolve(l); });
  });
}

function send(text) {
  child.stdin.write(text);
}

let pingId = 100;
async function pingAnswered(after) {
  const id = ++pingId;
  send(JSON.stringify({ jsonrpc: '2.0', id, method: 'ping' }) + '\n');
  const answer = JSON.parse(await next());
  assert.equal(answer.id, id, `the ping after ${after} is answered: ${JSON.stringify(answer)}`);
  assert.deepEqual(answer.result, {}, 'ping answers {}');
}

async function expectError(what, line, codes) {
  send(line);
  const text = await next();
  const answer = JSON.parse(text);  // one JSON message per line
  assert.equal(answer.jsonrpc, '2.0', `${what}: a JSON-RPC message: ${text}`);
  assert.ok(answer.error, `${what}: an error: ${text}`);
  assert.ok(codes.includes(answer.error.code), `${what}: code ${answer.error.code} in ${codes}`);
  assert.ok(typeof answer.error.message === 'string' && answer.error.message.length > 0);
  log(`${what}: ${answer.error.code} ${answer.error.message.slice(0, 80)}`);
  await pingAnswered(what);
}

try {
  await pingAnswered('start');
  await expectError('not JSON', 'this is not json\n', [-32700]);
  await expectError('a JSON array', '[1,2,3]\n', [-32600]);
  await expectError('a truncated object', '{"jsonrpc":"2.0","id":1,"method":"ping"\n', [-32700]);
  await expectError('a JSON string', '"hello"\n', [-32600]);
  await expectError('a request without method', '{"jsonrpc":"2.0","id":5}\n', [-32600]);
  await expectError('invalid UTF-8', Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d, 0x0a]), [-32700]);
  send('\n   \n');  // blank lines: nothing to answer
  await pingAnswered('blank lines');
  // Over 4 MiB without a newline, in pieces: refused and skipped up to its newline.
  const chunk = 'x'.repeat(1 << 20);
  for (let i = 0; i < 5; i++) send(chunk);
  send('\n');
  const tooLong = JSON.parse(await next(20000));
  assert.ok(tooLong.error, `an over-long line is refused: ${JSON.stringify(tooLong)}`);
  assert.match(tooLong.error.message, /MiB/);
  log(`over-long line: ${tooLong.error.code} ${tooLong.error.message}`);
  await pingAnswered('an over-long line');
  // Two messages in one write, CRLF endings.
  send(JSON.stringify({ jsonrpc: '2.0', id: 'a', method: 'ping' }) + '\r\n' +
       JSON.stringify({ jsonrpc: '2.0', id: 'b', method: 'ping' }) + '\r\n');
  assert.equal(JSON.parse(await next()).id, 'a');
  assert.equal(JSON.parse(await next()).id, 'b');
  // A notification is not answered: the next answer is the ping's.
  send(JSON.stringify({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 1 } }) + '\n');
  await pingAnswered('a notification');
  child.stdin.end();
  const { code, signal } = await exited;
  assert.equal(signal, null, `no signal ended it; stderr:\n${stderr}`);
  assert.equal(code, 0, `end of input: exit code 0; stderr:\n${stderr}`);
  assert.equal(buffered, '', 'nothing after the last newline');
  assert.equal(lines.length, 0, `no unexpected message: ${lines}`);
} catch (e) {
  console.error(`FAIL: ${e.stack || e}\n--- orb's stderr:\n${stderr}`);
  child.kill('SIGKILL');
  process.exit(1);
}
log('FRAMING_OK');
