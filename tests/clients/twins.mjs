// The same checks against servers built in different languages from the
// same design (guests/notes and its JavaScript twin guests/notes-js;
// guests/calc, its Python twin guests/calc-py and its wasm32-wasip2 build
// guests/calc-wasip2), and notes kept through wasi:keyvalue
// (guests/notes-keyvalue):
//   SMCP_API_KEY=smcp_... node twins.mjs <base-url> <kind>:<server>...
// where kind is `notes`, `calc` or `keyvalue`. Each official TypeScript client (SDK v1;
// v2 pinned to 2026-07-28) runs the kind's checks: for notes, it saves,
// reads, lists and deletes notes, makes one with progress notifications,
// reads it as a resource and sees an unknown tool refused; for calc, it adds
// and divides (by zero: a tool error) and sees bad arguments refused by the
// host; for keyvalue, it saves, reads, lists and deletes notes one at a time
// and in batches, and sees a second store refused. Prints
// one line per client and server and exits non-zero on failure.
import assert from 'node:assert/strict';
import { Client as ClientV1 } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as TransportV1 } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { Client as ClientV2, StreamableHTTPClientTransport as TransportV2 } from '@modelcontextprotocol/client';

const [base, ...targets] = process.argv.slice(2);
const key = process.env.SMCP_API_KEY;
if (!base || targets.length === 0 || !key) throw new Error('usage: SMCP_API_KEY=<key> node twins.mjs <base-url> <kind>:<server>...');
const requestInit = { headers: { Authorization: `Bearer ${key}` } };

const clients = {
  'sdk-v1': () => [new ClientV1({ name: 'smcp-twins', version: '1.0.0' }), TransportV1],
  'client-v2-2026': () => [new ClientV2({ name: 'smcp-twins', version: '1.0.0' }, { versionNegotiation: { mode: { pin: '2026-07-28' } } }), TransportV2],
};

const text = (result) => result.content.filter((c) => c.type === 'text').map((c) => c.text).join('');

// Progress steps each client saw from each server: twins must agree.
const progressSeen = {};

async function connect(make, server) {
  const [client, Transport] = make();
  await client.connect(new Transport(new URL(`${base}/${server}/mcp`), { requestInit }));
  return client;
}

async function checkCalc(_clientName, make, server) {
  const client = await connect(make, server);
  const { tools } = await client.listTools();
  assert.ok(tools.some((t) => t.name === 'add' && t.inputSchema.type === 'object'), 'lists add');
  const sum = await client.callTool({ name: 'add', arguments: { a: 2, b: 40 } });
  assert.deepEqual(sum.structuredContent, { sum: 42 });
  const div = await client.callTool({ name: 'divide', arguments: { a: 1, b: 0 } });
  assert.equal(div.isError, true);
  assert.equal(text(div), 'division by zero');
  // Bad arguments are a tool error the model can read and correct, and the
  // host's own (checked against inputSchema before any guest runs): each
  // guest's words for it differ.
  const bad = await client.callTool({ name: 'add', arguments: { a: 'two', b: 2 } });
  assert.equal(bad.isError, true);
  assert.equal(text(bad), 'invalid arguments for tool `add`: `/a`: "two" is not of type "number"');
  await client.close();
}

async function checkNotes(clientName, make, server) {
  const client = await connect(make, server);
  const { tools } = await client.listTools();
  assert.deepEqual(tools.map((t) => t.name).sort(), ['delete_note', 'get_note', 'list_notes', 'new_note', 'put_note']);
  assert.ok(tools.every((t) => t.inputSchema.type === 'object'));
  const id = `twin-${server}`;
  assert.equal(text(await client.callTool({ name: 'put_note', arguments: { id, text: 'héllo ☃' } })), `saved note ${id}`);
  assert.equal(text(await client.callTool({ name: 'get_note', arguments: { id } })), 'héllo ☃');
  const listed = await client.callTool({ name: 'list_notes', arguments: { prefix: 'twin-' } });
  assert.deepEqual(listed.structuredContent, { ids: [id] });
  const { contents } = await client.readResource({ uri: `note://${id}` });
  assert.equal(contents[0].text, 'héllo ☃');
  const steps = [];
  const made = await client.callTool(
    { name: 'new_note', arguments: { text: 'made' } },
    undefined,
    { onprogress: (p) => steps.push(p.progress) },
  );
  assert.match(made.structuredContent.id, /^[0-9a-f]{16}$/);
  assert.ok(made.structuredContent.created_ms > 1.7e12, 'a wall-clock time in ms');
  progressSeen[`${clientName}`] ??= {};
  progressSeen[clientName][server] = steps;
  assert.equal(text(await client.callTool({ name: 'get_note', arguments: { id: made.structuredContent.id } })), 'made');
  await client.callTool({ name: 'delete_note', arguments: { id } });
  const gone = await client.callTool({ name: 'get_note', arguments: { id } });
  assert.equal(gone.isError, true);
  assert.equal(text(gone), `no note \`${id}\``);
  await assert.rejects(client.callTool({ name: 'nope', arguments: {} }));
  await client.callTool({ name: 'delete_note', arguments: { id: made.structuredContent.id } });
  await client.close();
}

async function checkKeyValue(_clientName, make, server) {
  const client = await connect(make, server);
  const call = (name, args) => client.callTool({ name, arguments: args });
  assert.equal(text(await call('put_note', { id: 'kv-1', text: 'héllo ☃' })), 'saved kv-1');
  assert.equal(text(await call('put_notes', { notes: { 'kv-2': 'two', 'kv-3': 'three' } })), 'saved 2');
  assert.equal(text(await call('get_note', { id: 'kv-1' })), 'héllo ☃');
  assert.deepEqual((await call('get_notes', { ids: ['kv-3', 'kv-9', 'kv-2'] })).structuredContent, { texts: ['three', null, 'two'] });
  assert.deepEqual((await call('list_notes', { prefix: 'kv-' })).structuredContent, { ids: ['kv-1', 'kv-2', 'kv-3'] });
  assert.deepEqual((await call('has_note', { id: 'kv-2' })).structuredContent, { exists: true });
  assert.deepEqual((await call('open_store', { name: 'other' })).structuredContent, { opened: false, error: 'Error::NoSuchStore' });
  await call('delete_notes', { ids: ['kv-2', 'kv-3'] });
  await call('delete_note', { id: 'kv-1' });
  assert.deepEqual((await call('list_notes', { prefix: 'kv-' })).structuredContent, { ids: [] });
  const gone = await call('get_note', { id: 'kv-1' });
  assert.equal(gone.isError, true);
  assert.equal(text(gone), 'no note kv-1');
  await client.close();
}

const checks = { calc: checkCalc, notes: checkNotes, keyvalue: checkKeyValue };
const servers = targets.filter((t) => t.startsWith('notes:')).map((t) => t.slice('notes:'.length));
let passed = 0;
let failed = 0;
for (const [name, make] of Object.entries(clients)) {
  for (const target of targets) {
    const [kind, server] = target.split(':');
    try {
      await checks[kind](name, make, server);
      passed += 1;
      console.log(`ok ${name} ${target}`);
    } catch (error) {
      failed += 1;
      console.log(`FAILED ${name} ${target}: ${error?.stack ?? error}`);
    }
  }
}
try {
  // SDK v1 asks for progress and gets every step; each client sees the
  // same steps from both twins.
  assert.deepEqual(progressSeen['sdk-v1']?.[servers[0]], [0, 1, 2]);
  for (const [name, seen] of Object.entries(progressSeen)) {
    for (const server of servers) assert.deepEqual(seen[server], seen[servers[0]], `${name}: ${server}'s progress`);
  }
  passed += 1;
  console.log('ok progress');
} catch (error) {
  failed += 1;
  console.log(`FAILED progress: ${error?.stack ?? error}`);
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
