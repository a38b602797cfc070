// fetcher-js: fetcher's `fetch` tool in JavaScript, with the engine's own
// fetch(), which StarlingMonkey sends through wasi:http: the host serves it
// with the http capability, so the grant, the address policy and every
// limit apply as they do to the Rust fetchers (host/native/tests/outbound_fetch.rs).
// Built against the fetch-server world, whose http the build keeps.
// smcp-world: fetch-server
const done = (s, structured, isError = false) => ({
  tag: 'complete',
  val: { content: [{ tag: 'text', val: s }], structuredContent: structured && JSON.stringify(structured), isError },
});

const FETCH = {
  name: 'fetch',
  description: 'Fetches a URL with fetch(); returns status, headers and body.',
  inputSchema: JSON.stringify({
    type: 'object',
    properties: {
      url: { type: 'string' },
      method: { type: 'string' },
      headers: { type: 'object', additionalProperties: { type: 'string' } },
      body: { type: 'string' },
      max_chars: { type: 'integer', minimum: 0 },
    },
    required: ['url'],
  }),
};

async function fetchTool({ url, method, headers, body, max_chars: maxChars = 4096 }) {
  let response;
  try {
    response = await fetch(url, { method: method ?? 'GET', headers: headers ?? {}, body });
  } catch (e) {
    return done(`fetch failed: ${e?.message ?? e}`, undefined, true);
  }
  const text = await response.text();
  // UTF-16 units, not characters: splitting a string into characters costs
  // the interpreted engine billions of fuel.
  const cut = text.slice(0, maxChars);
  const pairs = [...response.headers.entries()];
  return done(`HTTP ${response.status}\n\n${cut}`, { status: response.status, headers: pairs, body: cut, truncated: text.length > maxChars });
}

export const server = {
  listTools: () => [FETCH],
  async callTool(name, args) {
    if (name !== 'fetch') throw { tag: 'not-found', val: name };
    return fetchTool(JSON.parse(args));
  },
  listResources: () => [],
  taskTools: () => [],
  listResourcesPage: () => ({ resources: [] }),
  listResourceTemplates: () => [],
  readResource(uri) {
    throw { tag: 'not-found', val: uri };
  },
  listPrompts: () => [],
  getPrompt(name) {
    throw { tag: 'not-found', val: name };
  },
  complete: () => ({ values: [], total: undefined, hasMore: false }),
};
