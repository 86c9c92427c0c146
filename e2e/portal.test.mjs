// The web portal in a real headless Chromium: `garrison up` on free loopback ports in a
// temporary directory; a platform admin (the admin token) sets up the API owner's
// organisation, its owner, a plan and an API through the admin REST API; then a consumer
// developer signs up on the portal's sign-up page (a new organisation of their own, `dvla`),
// signs out and in again, browses and filters the catalogue, creates an application (its sandbox key shown once),
// calls the sandbox with its sandbox key at once, issues a production key, requests a
// subscription; the API's owner approves it; and the production key is admitted by the gateway
// over mutual TLS. On the way the consumer tries the sandbox in the portal's console (relayed
// through the gateway) and sees the answer; at the end the owner and the consumer see the
// calls in the usage charts. Screenshots of every step go to e2e/artifacts/. Run by
// scripts/e2e.sh.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import net from 'node:net';
import https from 'node:https';
import { chromium } from 'playwright-core';

const BIN = process.env.GARRISON_BIN ?? 'target/debug/garrison';
const ARTIFACTS = new URL('./artifacts/', import.meta.url).pathname;
const PASSWORD = 'a long enough password';
mkdirSync(ARTIFACTS, { recursive: true });

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

let up;
let dir;
let ports;
let token;
let browser;

async function admin(method, path, body, bearer = token) {
  const response = await fetch(`http://127.0.0.1:${ports.admin}/admin/v1/${path}`, {
    method,
    headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  assert.ok(response.ok, `${method} ${path}: ${response.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'garrison-e2e-'));
  ports = {
    gateway: await freePort(),
    admin: await freePort(),
    portal: await freePort(),
    upstream: await freePort(),
    citizens: await freePort(),
  };
  up = spawn(BIN, [
    'up', '--data-dir', dir,
    '--listen', `127.0.0.1:${ports.gateway}`,
    '--admin', `127.0.0.1:${ports.admin}`,
    '--portal', `127.0.0.1:${ports.portal}`,
    '--upstream', `127.0.0.1:${ports.upstream}`,
    '--citizens', `127.0.0.1:${ports.citizens}`,
    '--people', '200',
    // This test builds its own library through the admin API.
    '--no-demo-library',
  ], { stdio: 'ignore' });
  // Readiness is polled, never slept for; at most 60 s.
  let ready = false;
  for (let i = 0; i < 600 && !ready; i++) {
    try {
      ready = (await fetch(`http://127.0.0.1:${ports.admin}/readyz`)).ok;
    } catch {
      await sleep(100);
    }
  }
  assert.ok(ready, 'garrison up became ready');
  token = readFileSync(join(dir, 'demo/admin-token'), 'utf8').trim();

  // The consumer developer is not created here: they sign up on the portal (the test).
  const dwp = await admin('POST', 'organisations', { slug: 'dwp', name: 'Department for Work and Pensions' });
  await admin('POST', 'users', { email: 'owner@dwp.example', name: 'Owen Owner', organisation: dwp.id, role: 'api_owner', password: PASSWORD });
  await admin('POST', 'plans', { name: 'bronze', requests: 10, periodSeconds: 1, burst: 10 });
  const session = await fetch(`http://127.0.0.1:${ports.admin}/admin/v1/sessions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: 'owner@dwp.example', password: PASSWORD }),
  }).then((r) => r.json());
  const demo = await admin('POST', 'apis', {
    slug: 'demo-echo', title: 'Demo echo', description: 'Echoes the request: the demo upstream of garrison up.',
    classification: 'official', tags: ['demo'],
  }, session.token);
  await admin('POST', `apis/${demo.id}/versions`, { version: 'v1', group: 'demo', status: 'stable' }, session.token);
  const match = await admin('POST', 'apis', {
    slug: 'citizen-match', title: 'Citizen match', description: 'Matches a citizen to a single-use identifier.',
    classification: 'official_sensitive', tags: ['citizen', 'dwp'],
  }, session.token);
  const old = await admin('POST', `apis/${match.id}/versions`, { version: 'v1', group: 'citizen-match-v1', status: 'stable' }, session.token);
  const v2 = await admin('POST', `apis/${match.id}/versions`, { version: 'v2', group: 'citizen-match-sandbox', status: 'beta' }, session.token);
  await admin('PUT', `apis/${match.id}/versions/${old.id}/lifecycle`, { status: 'deprecated', sunset: '2027-03-31', successor: v2.id }, session.token);

  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox'] });
});

after(async () => {
  await browser?.close();
  up?.kill('SIGTERM');
});

async function signIn(page, email) {
  await page.goto(`http://127.0.0.1:${ports.portal}/sign-in`);
  await page.getByLabel('Email address').fill(email);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL('**/catalogue');
}

function callGateway(key, path = '/demo/v1/echo', body = undefined) {
  const read = (file) => readFileSync(join(dir, 'demo/dvla-licensing', file));
  const headers = { 'x-api-key': key, context: 'DVLA-LICENSING' };
  if (body !== undefined) {
    // The purpose headers the citizen match contract requires, as garrison up wrote them.
    for (const line of readFileSync(join(dir, 'demo/requests/purpose.headers'), 'utf8').split('\n')) {
      const at = line.indexOf(':');
      if (at > 0) headers[line.slice(0, at).trim()] = line.slice(at + 1).trim();
    }
  }
  return new Promise((resolve, reject) => {
    const request = https.request({
      host: '127.0.0.1', port: ports.gateway, path, method: body === undefined ? 'GET' : 'POST',
      ca: readFileSync(join(dir, 'pki/ca.pem')), cert: read('client.pem'), key: read('client.key'),
      servername: 'localhost',
      headers,
    }, (response) => {
      let body = '';
      response.on('data', (chunk) => { body += chunk; });
      response.on('end', () => resolve({ status: response.statusCode, body }));
    });
    request.on('error', reject);
    request.end(body);
  });
}

test('a consumer developer and an API owner go from sign-up to an admitted call', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();

  // Unsigned visitors are sent to sign in, where `garrison up` (self_sign_up: true) offers
  // a developer account.
  await page.goto(`http://127.0.0.1:${ports.portal}/catalogue`);
  assert.match(page.url(), /\/sign-in$/);
  await page.getByRole('link', { name: 'Create a developer account' }).click();
  assert.match(page.url(), /\/sign-up$/);
  assert.equal(await page.getByRole('heading', { level: 1 }).innerText(), 'Create a developer account');
  await page.getByLabel('Your name').fill('Dana Developer');
  await page.getByLabel('Email address').fill('dev@dvla.example');
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByLabel('Your team or organisation').fill('DVLA');
  await page.screenshot({ path: join(ARTIFACTS, '00-sign-up.png'), fullPage: true });
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.waitForURL('**/applications');
  assert.match(await page.locator('main').innerText(), /no application yet/);
  assert.ok((await context.cookies()).some((c) => c.name === '__Host-garrison_session'), 'signed in');
  // The new account is a consumer developer in a new organisation of its own.
  const orgs = await admin('GET', 'organisations');
  const own = orgs.organisations.find((o) => o.slug === 'dvla');
  assert.equal(own?.name, 'DVLA');
  const users = await admin('GET', 'users');
  const dana = users.users.find((u) => u.email === 'dev@dvla.example');
  assert.equal(dana.role, 'consumer_developer');
  assert.equal(dana.organisation, own.id);
  await page.getByRole('button', { name: 'Sign out' }).click();
  assert.match(page.url(), /\/sign-in$/);
  await page.getByLabel('Email address').fill('dev@dvla.example');
  await page.getByLabel('Password').fill('not the password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForLoadState();
  if ((await page.getByRole('alert').count()) === 0) {
    await page.screenshot({ path: join(ARTIFACTS, '00-unexpected.png'), fullPage: true });
    assert.fail(`no alert after a wrong password: ${page.url()}\n${await page.content()}`);
  }
  assert.match(await page.getByRole('alert').innerText(), /not right/);
  await page.screenshot({ path: join(ARTIFACTS, '01-sign-in-refused.png'), fullPage: true });

  await signIn(page, 'dev@dvla.example');
  const cookies = await context.cookies();
  const session = cookies.find((c) => c.name === '__Host-garrison_session');
  assert.ok(session, 'the session cookie was accepted by the browser');
  assert.equal(session.httpOnly, true);
  assert.equal(session.secure, true);
  assert.equal(session.sameSite, 'Strict');
  assert.equal(await page.getByRole('heading', { level: 1 }).innerText(), 'API catalogue');
  assert.match(await page.getByRole('status').first().innerText(), /2 of 2 APIs/);
  await page.screenshot({ path: join(ARTIFACTS, '02-catalogue.png'), fullPage: true });

  await page.getByLabel('Status').selectOption('deprecated');
  await page.getByRole('button', { name: 'Filter' }).click();
  assert.match(await page.getByRole('status').first().innerText(), /1 of 2 APIs/);
  assert.match(await page.locator('table.catalogue').innerText(), /sunset 2027-03-31/);
  await page.screenshot({ path: join(ARTIFACTS, '03-catalogue-deprecated.png'), fullPage: true });

  // The API's page, and its documentation rendered by Swagger UI from the contract.
  await page.getByRole('link', { name: 'Citizen match' }).click();
  assert.equal(await page.getByRole('heading', { level: 1 }).innerText(), 'Citizen match');
  await page.getByRole('link', { name: 'Documentation of v2' }).click();
  await page.locator('.swagger-ui .info .title').waitFor();
  assert.match(await page.locator('.swagger-ui .info .title').innerText(), /Citizen match/);
  await page.locator('.opblock').first().waitFor();
  await page.screenshot({ path: join(ARTIFACTS, '04-documentation.png'), fullPage: false });

  await page.goto(`http://127.0.0.1:${ports.portal}/catalogue`);
  await page.getByRole('link', { name: 'Applications' }).click();
  await page.getByLabel('Name', { exact: true }).fill('Driver licensing');
  await page.getByLabel('Short name').fill('licensing');
  await page.getByRole('button', { name: 'Create application' }).click();
  const key = (await page.locator('#new-key').innerText()).trim();
  assert.match(key, /^grn_test_[0-9A-Za-z]{49}$/);
  await page.screenshot({ path: join(ARTIFACTS, '05-key-shown-once.png'), fullPage: true });

  // The sandbox key calls the sandbox at once, with no subscription, and nothing else.
  const sandbox = await callGateway(key, '/sandbox/capi/v2/citizens/match',
    readFileSync(join(dir, 'demo/requests/match.json')));
  assert.equal(sandbox.status, 200, sandbox.body);
  assert.equal((await callGateway(key)).status, 403, 'a sandbox key is refused by a real API');

  // The try-it console: the consumer pastes its sandbox key and calls the sandbox through
  // the gateway (over mutual TLS, validated against the contract); the answer is shown.
  await page.goto(`http://127.0.0.1:${ports.portal}/apis/citizen-match`);
  await page.getByRole('link', { name: 'Try it v2 in the console' }).click();
  assert.equal(await page.getByRole('heading', { level: 1 }).innerText(), 'Try Citizen match v2');
  assert.match(await page.getByLabel('Request body').inputValue(), /"/, 'prefilled with the example');
  await page.getByLabel('Sandbox key').fill(key);
  await page.getByRole('button', { name: 'Send to the sandbox' }).click();
  await page.locator('#console-status').waitFor();
  assert.match(await page.locator('#console-status').innerText(), /^200/, await page.locator('main').innerText());
  assert.ok((await page.locator('#console-answer').innerText()).length > 2, 'the mock answered');
  assert.ok(!(await page.content()).includes(key), 'the console never shows the key');
  await page.screenshot({ path: join(ARTIFACTS, '05b-console-answer.png'), fullPage: true });
  await page.goto(`http://127.0.0.1:${ports.portal}/applications`);
  await page.getByRole('link', { name: 'Driver licensing' }).click();
  assert.ok(!(await page.content()).includes(key), 'the key is never shown again');
  await page.getByLabel('Issue a key for').selectOption('production');
  await page.getByRole('button', { name: 'Issue a key' }).click();
  const live = (await page.locator('#new-key').innerText()).trim();
  assert.match(live, /^grn_live_[0-9A-Za-z]{49}$/);
  await page.getByRole('link', { name: 'Continue to the application' }).click();
  await page.getByLabel('API version').selectOption({ label: 'Demo echo v1' });
  await page.getByLabel('Purpose').fill('DVLA-LICENSING');
  await page.getByRole('button', { name: 'Request subscription' }).click();
  assert.match(await page.locator('.sub-requested').innerText(), /requested/);
  await page.screenshot({ path: join(ARTIFACTS, '06-subscription-requested.png'), fullPage: true });
  const refused = await callGateway(live);
  assert.equal(refused.status, 403, 'not admitted before the owner approves');
  await page.getByRole('button', { name: 'Sign out' }).click();
  assert.match(page.url(), /\/sign-in$/);

  await signIn(page, 'owner@dwp.example');
  await page.getByRole('link', { name: 'Approvals' }).click();
  assert.match(await page.locator('main').innerText(), /DVLA-LICENSING/);
  await page.screenshot({ path: join(ARTIFACTS, '07-approvals.png'), fullPage: true });
  await page.getByLabel(/Reason/).fill('Checked the data protection impact assessment.');
  await page.getByRole('button', { name: 'Approve' }).click();
  assert.match(await page.locator('main').innerText(), /No subscription is waiting/);

  // The gateway admits the key within moments, with no restart.
  let admitted;
  for (let i = 0; i < 100; i++) {
    admitted = await callGateway(live);
    if (admitted.status === 200) break;
    await sleep(50);
  }
  assert.equal(admitted.status, 200, admitted.body);
  assert.equal(JSON.parse(admitted.body).consumer, 'dvla/licensing');

  // The owner sees its API's usage: the consumer's admitted call is charted.
  await page.goto(`http://127.0.0.1:${ports.portal}/apis/demo-echo`);
  await page.getByRole('link', { name: 'Usage of this API' }).click();
  assert.match(await page.locator('#usage-total').innerText(), /Requests in this period: [1-9]/);
  assert.match(await page.locator('table.breakdown').innerText(), /dvla\/licensing/);
  assert.equal(await page.locator('svg[role="img"]').count(), 3);
  await page.screenshot({ path: join(ARTIFACTS, '08-api-usage.png'), fullPage: true });
  await page.getByRole('button', { name: 'Sign out' }).click();

  // The consumer sees its application's usage: the console's call and the gateway calls.
  await signIn(page, 'dev@dvla.example');
  await page.getByRole('link', { name: 'Applications' }).click();
  await page.getByRole('link', { name: 'Driver licensing' }).click();
  await page.getByRole('link', { name: 'Usage of this application' }).click();
  const total = await page.locator('#usage-total').innerText();
  const calls = Number(/(\d+)/.exec(total)[1]);
  assert.ok(calls >= 4, `the console's call and the gateway calls are counted: ${total}`);
  assert.equal(await page.locator('svg[role="img"]').count(), 3);
  assert.match(await page.locator('svg[role="img"] title').first().textContent(), /Requests per minute/);
  assert.match(await page.locator('table.breakdown').innerText(), /citizen-match-sandbox/);
  assert.match(await page.locator('table.usage tbody').innerText(), /\d\d:\d\d\s+[1-9]/, 'a minute with calls');
  await page.screenshot({ path: join(ARTIFACTS, '09-application-usage.png'), fullPage: true });
  await context.close();
});
