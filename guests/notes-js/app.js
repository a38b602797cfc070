// notes-js: the JavaScript twin of guests/notes. Notes live in kv under
// `note:<id>` as JSON {text, created_ms}, readable as resources
// `note://{id}`; changing a note tells the clients subscribed to it.
// Built with componentize-js against wit/'s mcp-server world; it also
// exercises the WASI subset: console.log (stdout to the operator log),
// Date.now (wall clock) and crypto.getRandomValues (random).
// Built against the kv-server world, so it imports kv and the capabilities
// every server has, and nothing else of smcp:mcp:
// smcp-world: kv-server
import { get, set, delete as remove, listKeys } from 'smcp:mcp/kv@0.1.2';
import { progress, resourceUpdated } from 'smcp:mcp/notify@0.1.2';

const PREFIX = 'note:';
const LIST_LIMIT = 100;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

// Schemas name draft-07, as JavaScript schema generators (zod-to-json-schema)
// write them: the host checks arguments in the dialect a schema names.
const object = (properties, required) =>
  JSON.stringify({ $schema: 'http://json-schema.org/draft-07/schema#', type: 'object', properties, required });
const TOOLS = [
  { name: 'put_note', description: 'Saves text as note `id`.', inputSchema: object({ id: { type: 'string' }, text: { type: 'string' } }, ['id', 'text']) },
  { name: 'get_note', description: 'The text of note `id`.', inputSchema: object({ id: { type: 'string' } }, ['id']) },
  { name: 'list_notes', description: 'Ids of notes starting with `prefix`.', inputSchema: object({ prefix: { type: 'string' } }, []) },
  { name: 'delete_note', description: 'Deletes note `id`.', inputSchema: object({ id: { type: 'string' } }, ['id']) },
  { name: 'new_note', description: 'Saves text under a new random id.', inputSchema: object({ text: { type: 'string' } }, ['text']) },
];

const key = (id) => `${PREFIX}${id}`;
const text = (s, structured) => ({
  tag: 'complete',
  val: { content: [{ tag: 'text', val: s }], structuredContent: structured && JSON.stringify(structured), isError: false },
});
const toolError = (s) => ({ tag: 'complete', val: { content: [{ tag: 'text', val: s }], isError: true } });
// A capability error arrives as a thrown ComponentError whose payload is the
// WIT variant: {tag: 'denied' | 'quota-exceeded' | …, val: message}.
const failure = (e) => (e && e.payload ? `${e.payload.tag}: ${e.payload.val}` : String(e));

function readNote(id) {
  const bytes = get(key(id));
  return bytes === undefined ? undefined : JSON.parse(decoder.decode(bytes));
}

function writeNote(id, note) {
  set(key(id), encoder.encode(JSON.stringify(note)), undefined);
  resourceUpdated(`note://${id}`);
}

function string(args, name) {
  if (typeof args[name] !== 'string') throw { tag: 'invalid-params', val: `\`${name}\` must be a string` };
  return args[name];
}

const handlers = {
  put_note(args) {
    const id = string(args, 'id');
    writeNote(id, { text: string(args, 'text'), created_ms: Date.now() });
    return text(`saved note ${id}`);
  },
  get_note(args) {
    const id = string(args, 'id');
    const note = readNote(id);
    return note === undefined ? toolError(`no note \`${id}\``) : text(note.text);
  },
  list_notes(args) {
    const prefix = typeof args.prefix === 'string' ? args.prefix : '';
    const page = listKeys(key(prefix), undefined, LIST_LIMIT);
    const ids = page.keys.filter((k) => k.startsWith(PREFIX)).map((k) => k.slice(PREFIX.length));
    return text(ids.length === 0 ? 'no notes' : ids.join('\n'), { ids });
  },
  delete_note(args) {
    const id = string(args, 'id');
    remove(key(id));
    resourceUpdated(`note://${id}`);
    return text(`deleted note ${id}`);
  },
  new_note(args) {
    const body = string(args, 'text');
    progress(0, 2, 'choosing an id');
    const random = new Uint8Array(8);
    crypto.getRandomValues(random);
    const id = Array.from(random, (b) => b.toString(16).padStart(2, '0')).join('');
    const created_ms = Date.now();
    progress(1, 2, 'saving');
    writeNote(id, { text: body, created_ms });
    console.log(`created note ${id}`);
    progress(2, 2, 'done');
    return text(`created note ${id}`, { id, created_ms });
  },
};

export const server = {
  listTools: () => TOOLS,
  callTool(name, argumentsJson) {
    const handler = handlers[name];
    if (!handler) throw { tag: 'not-found', val: `no tool \`${name}\`` };
    try {
      return handler(JSON.parse(argumentsJson));
    } catch (e) {
      if (e && typeof e.tag === 'string') throw e;
      return toolError(failure(e));
    }
  },
  listResources: () => [],
  taskTools: () => [],
  listResourcesPage: () => ({ resources: [] }),
  listResourceTemplates: () => [
    { uriTemplate: 'note://{id}', name: 'note', description: 'The text of a note.', mimeType: 'text/plain' },
  ],
  readResource(uri) {
    const match = /^note:\/\/([^/?#]+)$/.exec(uri);
    if (!match) throw { tag: 'not-found', val: `no resource \`${uri}\`` };
    const id = decodeURIComponent(match[1]);
    const note = readNote(id);
    if (note === undefined) throw { tag: 'not-found', val: `no note \`${id}\`` };
    return [{ uri, mimeType: 'text/plain', body: { tag: 'text', val: note.text } }];
  },
  listPrompts: () => [],
  getPrompt(name) {
    throw { tag: 'not-found', val: `no prompt \`${name}\`` };
  },
  complete: () => ({ values: [], total: undefined, hasMore: false }),
};
