// The browsable API page /docs in headless Chromium: a real `orb-server serve` on a
// free loopback port, Debian's chromium driven by playwright-core. The page loads with
// no Content-Security-Policy complaint, lists the endpoints of the OpenAPI document,
// and a "Try it out" call of GET /api/v1/templates shows the live answer; no request
// leaves for another host.
//
// Run by ctest (api_docs_page):
//   ORB_SERVER_BINARY=build/orb-server node --test tests/api/docs_page.test.mjs
// Environment: ORB_SERVER_BINARY (required), ORB_CHROMIUM (default /usr/bin/chromium).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const sourceDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const serverBinary = process.env.ORB_SERVER_BINARY;
const chromiumPath = process.env.ORB_CHROMIUM || '/usr/bin/chromium';
const templateId = 'Docs-Page-Template';

let home;
let server;
let serverLog = '';
let base;
let browser;

// Starts `orb-server serve --port 0` with a work directory and a one-template file of
// its own, and resolves with the address it prints once listening.
function startServer() {
  home = mkdtempSync(join(tmpdir(), 'orb-docs-page-'));
  const conf = join(home, 'conf');
  mkdirSync(conf);
  writeFileSync(join(conf, 'awsprov_templates.json'), JSON.stringify({
    templates: [{
      templateId,
      maxNumber: 4,
      attributes: { type: ['String', 'X86_64'], ncpus: ['Numeric', '2'], nram: ['Numeric', '4096'] },
      imageId: 'ami-0123456789abcdef0',
      vmType: 't3.medium',
      subnetId: 'subnet-0123456789abcdef0',
    }],
  }));
  // Only what the server needs: no AWS or ORB_ variables of whoever runs the test.
  const env = {
    PATH: process.env.PATH || '/usr/bin:/bin',
    HOME: home,
    ORB_CONF_DIR: conf,
    ORB_WORK_DIR: join(home, 'work'),
    ORB_LOG_DIR: join(home, 'log'),
    AWS_REGION: 'us-east-1',
  };
  server = spawn(serverBinary, ['serve', '--port', '0'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`orb-server did not start in 20 s:\n${serverLog}`)), 20000);
    server.stderr.on('data', (chunk) => { serverLog += chunk; });
    server.stdout.on('data', (chunk) => {
      serverLog += chunk;
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(serverLog);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    server.on('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`cannot start ${serverBinary}: ${err.message}`));
    });
    server.on('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`orb-server exited (${code ?? signal}) before listening:\n${serverLog}`));
    });
  });
}

async function stopServer() {
  if (!server || server.exitCode !== null || server.signalCode !== null) return;
  const exited = new Promise((resolve) => server.once('exit', resolve));
  server.kill('SIGTERM');
  const timer = setTimeout(() => server.kill('SIGKILL'), 10000);
  await exited;
  clearTimeout(timer);
}

before(async () => {
  assert.ok(serverBinary, 'set ORB_SERVER_BINARY to the orb-server program');
  base = await startServer();
  browser = await chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    // As root Chromium needs --no-sandbox; the rest keeps it from calling home.
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-quic',
           '--no-first-run', '--disable-background-networking', '--disable-component-update',
           '--disable-sync', '--disable-default-apps'],
  });
});

after(async () => {
  if (browser) await browser.close();
  await stopServer();
  if (home) rmSync(home, { recursive: true, force: true });
});

test('the server answers the OpenAPI document of the source tree', async () => {
  const res = await fetch(`${base}/openapi.json`);
  assert.equal(res.status, 200);
  const served = await res.json();
  const source = JSON.parse(readFileSync(join(sourceDir, 'src/api/openapi.json'), 'utf8'));
  assert.deepEqual(served, source);
});

test('/docs lists the endpoints and "Try it out" calls the live server', async () => {
  const context = await browser.newContext();
  const origin = new URL(base).origin;
  const elsewhere = [];
  const problems = [];
  // Every request the page makes is recorded; one for another host is refused (and
  // fails the test below), so the page can never depend on the internet.
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith('data:') || new URL(url).origin === origin) return route.continue();
    elsewhere.push(url);
    return route.abort();
  });
  const page = await context.newPage();
  page.on('request', (req) => {
    const url = req.url();
    if (!url.startsWith('data:') && new URL(url).origin !== origin) elsewhere.push(url);
  });
  page.on('console', (msg) => {
    if (msg.type() === 'error') problems.push(`console: ${msg.text()}`);
  });
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));

  const res = await page.goto(`${base}/docs`);
  assert.equal(res.status(), 200);
  assert.match(res.headers()['content-security-policy'] ?? '', /script-src 'self'/);

  // The endpoints, as Swagger UI lists them.
  await page.waitForSelector('.opblock-summary-path', { timeout: 30000 });
  const listed = await page.$$eval('.opblock-summary-path', (els) =>
    els.map((e) => e.getAttribute('data-path') || e.textContent.replace(/\u200b/g, '').trim()));
  for (const path of ['/health', '/api/v1/templates', '/api/v1/templates/{template_id}',
                      '/api/v1/requests/{request_id}', '/api/v1/requests/status',
                      '/api/v1/machines/request', '/api/v1/machines/return',
                      '/api/v1/hostfactory/requestMachines', '/openapi.json']) {
    assert.ok(listed.includes(path), `the page lists ${path}; it lists ${listed.join(', ')}`);
  }
  const title = await page.textContent('.info .title');
  assert.match(title, /orb REST API/);

  // Open GET /api/v1/templates, "Try it out", "Execute": the live answer is shown.
  const op = page.locator('#operations-templates-listTemplates');
  await op.locator('.opblock-summary').first().click();
  await op.locator('button.try-out__btn').click();
  await op.locator('button.execute').click();
  const status = op.locator('.live-responses-table .response .response-col_status').first();
  await status.waitFor({ timeout: 30000 });
  assert.equal((await status.textContent()).trim(), '200');
  const body = await op.locator('.live-responses-table .response-col_description pre').first().textContent();
  const answer = JSON.parse(body);
  assert.equal(answer.templates.length, 1, body);
  assert.equal(answer.templates[0].template_id, templateId, body);
  // The request URL Swagger UI shows is this server's (servers: "/").
  const requestUrl = await op.locator('.request-url pre').first().textContent();
  assert.equal(requestUrl.trim(), `${base}/api/v1/templates`);

  assert.deepEqual(elsewhere, [], 'no request leaves for another host');
  // Nothing failed in the page, the Content-Security-Policy blocked nothing it needs.
  assert.deepEqual(problems, [], 'no error in the page');
  await context.close();
});
