// Drives the official TypeScript MCP clients against a running SMCP server:
//   SMCP_API_KEY=smcp_... node ts-clients.mjs <base-url>   (base: http://127.0.0.1:PORT/t/dev/s)
// Each client (SDK v1; v2 in legacy, auto and pinned 2026-07-28 modes)
// connects to calc and notes, lists and calls tools, reads a resource and
// gets a prompt. Prints one line per check and exits non-zero on failure.
import assert from 'node:assert/strict';
import { Client as ClientV1 } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as TransportV1 } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { Client as ClientV2, StreamableHTTPClientTransport as TransportV2 } from '@modelcontextprotocol/client';
import { discoverOAuthProtectedResourceMetadata } from '@modelcontextprotocol/sdk/client/auth.js';

const base = process.argv[2];
const key = process.env.SMCP_API_KEY;
if (!base || !key) throw new Error('usage: SMCP_API_KEY=<key> node ts-clients.mjs <base-url>');
const requestInit = { headers: { Authorization: `Bearer ${key}` } };

const clients = {
  'sdk-v1': () => [new ClientV1({ name: 'smcp-e2e', version: '1.0.0' }), TransportV1],
  'client-v2-legacy': () => [new ClientV2({ name: 'smcp-e2e', version: '1.0.0' }, { versionNegotiation: { mode: 'legacy' } }), TransportV2],
  'client-v2-auto': () => [new ClientV2({ name: 'smcp-e2e', version: '1.0.0' }, { versionNegotiation: { mode: 'auto' } }), TransportV2],
  'client-v2-2026': () => [new ClientV2({ name: 'smcp-e2e', version: '1.0.0' }, { versionNegotiation: { mode: { pin: '2026-07-28' } } }), TransportV2],
};

async function connect(make, server) {
  const [client, Transport] = make();
  const transport = new Transport(new URL(`${base}/${server}/mcp`), { requestInit });
  await client.connect(transport);
  return { client, transport };
}

function text(result) {
  return result.content.filter((c) => c.type === 'text').map((c) => c.text).join('');
}

let failed = 0;
for (const [name, make] of Object.entries(clients)) {
  try {
    const { client: calc } = await connect(make, 'calc');
    const { tools } = await calc.listTools();
    assert.ok(tools.some((t) => t.name === 'add' && t.inputSchema.type === 'object'), 'calc lists add');
    const sum = await calc.callTool({ name: 'add', arguments: { a: 2, b: 40 } });
    assert.deepEqual(sum.structuredContent, { sum: 42 });
    assert.equal(text(await calc.callTool({ name: 'echo', arguments: { text: 'héllo' } })), 'héllo');
    const about = await calc.readResource({ uri: 'calc://about' });
    assert.equal(about.contents[0].text, 'calc: a pure-compute SMCP test server.');
    const prompt = await calc.getPrompt({ name: 'explain', arguments: { topic: 'fibonacci' } });
    assert.equal(prompt.messages[0].content.text, 'Explain fibonacci in simple terms.');
    const div = await calc.callTool({ name: 'divide', arguments: { a: 1, b: 0 } });
    assert.equal(div.isError, true);
    await calc.close();

    const { client: notes } = await connect(make, 'notes');
    const id = `${name}-note`;
    await notes.callTool({ name: 'put_note', arguments: { id, text: `from ${name}` } });
    assert.equal(text(await notes.callTool({ name: 'get_note', arguments: { id } })), `from ${name}`);
    await notes.close();
    console.log(`ok ${name}`);
  } catch (error) {
    failed += 1;
    console.log(`FAILED ${name}: ${error?.stack ?? error}`);
  }
}
// Without the key: refused, and the SDK's OAuth discovery finds the
// protected-resource metadata the 401 points to.
try {
  const [client, Transport] = clients['sdk-v1']();
  await assert.rejects(client.connect(new Transport(new URL(`${base}/calc/mcp`))), /401|Unauthorized/);
  const metadata = await discoverOAuthProtectedResourceMetadata(new URL(`${base}/calc/mcp`));
  assert.equal(metadata.resource, `${base}/calc/mcp`);
  assert.deepEqual(metadata.bearer_methods_supported, ['header']);
  console.log('ok sdk-v1-oauth-discovery');
} catch (error) {
  failed += 1;
  console.log(`FAILED sdk-v1-oauth-discovery: ${error?.stack ?? error}`);
}
console.log(`${Object.keys(clients).length + 1 - failed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
