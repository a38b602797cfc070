// The official TypeScript SDK client, given only an MCP server's URL,
// against the host's own authorization server: it discovers the server,
// registers itself, sends a person through the real login and consent page
// in headless Chromium (Debian's, driven by playwright-core), exchanges the
// code with PKCE, and calls a tool (the person ticks "Remember this"). Then
// it waits for its access token to expire and calls again: the SDK must
// refresh. A second client with the same registration but no tokens signs
// in again in the same browser: the remembered consent sends it back with
// a code and no page. Last, the person opens
// their account page, finds the application there and revokes it: the
// client's next call must fail. With SMCP_SCREENSHOTS set to a directory,
// the login and account pages are saved there at desktop and phone sizes.
//
// Usage: node oauth-browser.mjs <mcp url> <username> <password> <seconds to wait>
// Prints one JSON line per step; exits 1 on any failure.

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';
import { chromium } from 'playwright-core';
import http from 'node:http';

const [mcpUrl, username, password, waitSeconds] = process.argv.slice(2);
const report = (step, detail = {}) => console.log(JSON.stringify({ step, ...detail }));
const shots = process.env.SMCP_SCREENSHOTS;
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 375, height: 740 };

// The page at desktop and phone sizes (saved when asked), and what a
// person on a phone meets: the smallest control's height in CSS pixels,
// and whether the page scrolls sideways.
async function look(page, name) {
  await page.setViewportSize(DESKTOP);
  if (shots) await page.screenshot({ path: `${shots}/${name}-desktop.png`, fullPage: true });
  await page.setViewportSize(PHONE);
  if (shots) await page.screenshot({ path: `${shots}/${name}-phone.png`, fullPage: true });
  const smallest = await page.locator('button, input:not([type=hidden])').evaluateAll(
    (controls) => (controls.length ? Math.min(...controls.map((c) => c.getBoundingClientRect().height)) : null));
  const sideways = await page.evaluate(() => document.documentElement.scrollWidth > document.documentElement.clientWidth);
  // A logo the page's policy let load has its natural width.
  const logos = await page.locator('header img').evaluateAll((images) => images.map((i) => i.naturalWidth));
  await page.setViewportSize(DESKTOP);
  return { smallest_control_px: smallest, scrolls_sideways: sideways, logo_widths: logos };
}
let revokedByPerson = false;

// The redirect target: a loopback server; each code goes to whoever waits.
let deliverCode;
const nextCode = () => new Promise((resolve) => (deliverCode = resolve));
let codeArrived = nextCode();
const callback = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://127.0.0.1');
  res.end('signed in; you can close this page');
  if (url.pathname === '/callback') deliverCode(url.searchParams);
});
await new Promise((resolve) => callback.listen(0, '127.0.0.1', resolve));
const redirectUrl = `http://127.0.0.1:${callback.address().port}/callback`;

// Headless, with a fresh profile of playwright's making; without the
// background-networking flags it floods the closed network with requests.
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'],
});

// The person's browser: its cookies last across their authorizations.
const person = await browser.newContext({ viewport: DESKTOP });

// Everything the SDK asks an OAuth client application to keep.
const saved = { tokens: [], client: undefined, verifier: undefined };
const provider = {
  get redirectUrl() { return redirectUrl; },
  get clientMetadata() {
    return {
      client_name: 'SMCP browser test (TypeScript SDK)',
      redirect_uris: [redirectUrl],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    };
  },
  clientInformation() { return saved.client; },
  saveClientInformation(info) { saved.client = info; report('registered', { client_id: info.client_id }); },
  tokens() { return saved.tokens.at(-1); },
  saveTokens(tokens) { saved.tokens.push(tokens); report('tokens', { count: saved.tokens.length, expires_in: tokens.expires_in, scope: tokens.scope }); },
  saveCodeVerifier(verifier) { saved.verifier = verifier; },
  codeVerifier() { return saved.verifier; },
  async redirectToAuthorization(authorizationUrl) {
    // Once the person revoked the application, they do not sign in again.
    if (revokedByPerson) throw new Error('access was revoked');
    // A person at the browser: reads the page, signs in, allows.
    const page = await person.newPage();
    await page.goto(authorizationUrl.toString());
    if (page.url().startsWith(redirectUrl)) {
      // Allowed before and remembered: back at once, no page shown.
      report('remembered', { page_shown: false });
      await page.close();
      return;
    }
    const heading = await page.locator('h1').innerText();
    const asks = await page.locator('main').innerText();
    report('login page', await look(page, 'login'));
    // A wrong password first: the page comes back by GET (so Back and reload
    // never resend the form), saying why, the name kept, the focus on the
    // empty password.
    await page.getByLabel('Username').fill(username);
    await page.getByLabel('Password').fill('not the password');
    await page.getByRole('button', { name: 'Sign in and allow' }).click();
    await page.getByRole('alert').waitFor({ timeout: 10_000 });
    report('failed sign-in', {
      alert: await page.getByRole('alert').innerText(),
      by_get: (await page.evaluate(() => performance.getEntriesByType('navigation')[0].type)) === 'navigate'
        && page.url().includes('/authorize?'),
      username_kept: (await page.getByLabel('Username').inputValue()) === username,
      focused: await page.evaluate(() => document.activeElement?.id),
    });
    await page.getByLabel('Password').fill(password);
    // Not ticked for a client that only claims its name: the person's choice.
    const rememberOffered = !(await page.getByLabel(/Remember this/).isChecked());
    await page.getByLabel(/Remember this/).check();
    await page.getByRole('button', { name: 'Sign in and allow' }).click();
    await page.waitForURL((url) => url.toString().startsWith(redirectUrl), { timeout: 10_000 }).catch(async (error) => {
      throw new Error(`the page did not send us back: ${await page.locator('main').innerText()}`, { cause: error });
    });
    report('consented', { heading, names_client: asks.includes('SMCP browser test'), names_scope: asks.includes('mcp:use'),
      remember_unticked: rememberOffered });
    await page.close();
  },
};

const connect = async () => {
  const client = new Client({ name: 'smcp-oauth-browser-test', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(mcpUrl), { authProvider: provider }));
  return client;
};

let failed = false;
try {
  let client;
  try {
    client = await connect();
    throw new Error('connected without signing in');
  } catch (error) {
    if (!(error instanceof UnauthorizedError)) throw error;
    const params = await codeArrived;
    report('redirected', { has_code: params.has('code'), iss: params.get('iss') });
    const transport = new StreamableHTTPClientTransport(new URL(mcpUrl), { authProvider: provider });
    await transport.finishAuth(params.get('code'));
    client = await connect();
  }
  const tools = await client.listTools();
  report('listed', { tools: tools.tools.map((t) => t.name) });
  const first = await client.callTool({ name: 'add', arguments: { a: 2, b: 40 } });
  report('called', { text: first.content[0].text });

  await new Promise((resolve) => setTimeout(resolve, Number(waitSeconds) * 1000));
  const again = await client.callTool({ name: 'add', arguments: { a: 1, b: 1 } });
  report('called after expiry', { text: again.content[0].text, tokens_saved: saved.tokens.length,
    rotated: saved.tokens.length > 1 && saved.tokens[0].refresh_token !== saved.tokens[1].refresh_token });

  // The same application again with no tokens: the browser is signed in
  // and the consent remembered, so it gets a code without a page.
  const kept = saved.tokens;
  saved.tokens = [];
  codeArrived = nextCode();
  let second;
  try {
    second = await connect();
    throw new Error('connected without tokens');
  } catch (error) {
    if (!(error instanceof UnauthorizedError)) throw error;
    const params = await codeArrived;
    const transport = new StreamableHTTPClientTransport(new URL(mcpUrl), { authProvider: provider });
    await transport.finishAuth(params.get('code'));
    second = await connect();
  }
  const third = await second.callTool({ name: 'add', arguments: { a: 2, b: 2 } });
  report('called after remembered consent', { text: third.content[0].text });
  await second.close().catch(() => {});
  saved.tokens = [...kept, ...saved.tokens];

  // An application that registered a name built to mislead (a right-to-left
  // override that reverses "Claude", and a claim of being verified): the
  // page shows the name as its logical text, marked as the application's
  // own claim. And an error page quotes nothing of a spoofing request.
  const tenant = new URL(mcpUrl).pathname.split('/')[2];
  const issuer = new URL(`/oauth/${tenant}`, mcpUrl).toString();
  const registered = await (await fetch(`${issuer}/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ client_name: '\u202EedualC\u202C (by Anthropic) verified', redirect_uris: [redirectUrl] }),
  })).json();
  const authorize = new URL(`${issuer}/authorize`);
  for (const [k, v] of Object.entries({ response_type: 'code', client_id: registered.client_id, redirect_uri: redirectUrl,
    code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256', resource: mcpUrl })) {
    authorize.searchParams.set(k, v);
  }
  const claims = await person.newPage();
  await claims.goto(authorize.toString());
  const shown = await claims.locator('main').innerText();
  const claimsLook = await look(claims, 'consent-claimed-name');
  const spoof = 'Call-555-0100-to-unlock-your-account';
  await claims.goto(`${authorize}&${spoof}=1&${spoof}=2`);
  const error = await claims.locator('main').innerText();
  const errorLook = await look(claims, 'error');
  report('claims', {
    logical: shown.includes('“edualC (by Anthropic) verified”'),
    no_override: !shown.includes('\u202E'),
    unverified: shown.includes('unverified'),
    error_quotes_nothing: !error.includes(spoof) && error.includes('cannot be used'),
    error_has_face: error.includes('Acme Corp'),
    consent_look: claimsLook, error_look: errorLook,
  });
  await claims.close();

  // The person's own account page: the application is there, and
  // revoking it ends its access.
  const account = await browser.newPage({ viewport: DESKTOP });
  await account.goto(new URL(`/oauth/${tenant}/account`, mcpUrl).toString());
  const signIn = await look(account, 'account-sign-in');
  await account.getByLabel('Username').fill(username);
  await account.getByLabel('Password').fill(password);
  await account.getByRole('button', { name: 'Sign in' }).click();
  await account.getByRole('heading', { name: 'Applications you allowed' }).waitFor({ timeout: 10_000 });
  const listed = (await account.locator('main').innerText()).includes('SMCP browser test');
  const signedIn = await look(account, 'account');
  revokedByPerson = true;
  // One row per time it was allowed (the second came from the remembered
  // consent): revoke each.
  const allowedTimes = await account.getByRole('button', { name: /^Revoke/ }).count();
  for (let i = 0; i < allowedTimes; i += 1) {
    await account.getByRole('button', { name: /^Revoke/ }).first().click();
    await account.getByRole('status').waitFor({ timeout: 10_000 });
  }
  const after = await account.locator('main').innerText();
  report('account page', { listed, allowed_times: allowedTimes,
    revoked: after.includes('Revoked') && !after.includes('SMCP browser test'),
    sign_in: signIn, signed_in: signedIn });
  await account.close();
  try {
    await client.callTool({ name: 'add', arguments: { a: 1, b: 1 } });
    report('called after revocation');
  } catch (error) {
    report('refused after revocation', { error: String(error) });
  }
  await client.close().catch(() => {});
} catch (error) {
  failed = true;
  report('failed', { error: String(error?.stack ?? error) });
} finally {
  await person.close().catch(() => {});
  await browser.close();
  callback.close();
}
process.exit(failed ? 1 : 0);
