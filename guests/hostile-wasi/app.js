// hostile-wasi: a JavaScript guest that turns the WASI subset against the
// host. Each tool is one attack; the host must end it with the same error a
// native capability gives, and go on serving (tests/tests/wasi.rs).
// smcp-world: tool-server
const tool = (name) => ({ name, inputSchema: JSON.stringify({ type: 'object' }) });
const done = (s) => ({ tag: 'complete', val: { content: [{ tag: 'text', val: s }], isError: false } });

const attacks = {
  // stdout is the log capability: a flood is cut by its budgets.
  flood_stdout() {
    for (let i = 0; ; i++) console.log(`line ${i}`);
  },
  // Reading the clock in a loop is a capability call per reading.
  spin_on_clock() {
    const start = Date.now();
    while (Date.now() - start < 3_600_000) {}
    return done('an hour passed');
  },
  // What a probe of the environment finds: nothing.
  probe_environment() {
    const found = typeof process === 'undefined' ? {} : process.env;
    return done(JSON.stringify(found));
  },
  // Guest memory past the grant's limit.
  grow_memory() {
    const hold = [];
    for (;;) hold.push(new Uint8Array(1 << 20).fill(1));
  },
};

export const server = {
  listTools: () => Object.keys(attacks).map(tool),
  callTool(name) {
    const attack = attacks[name];
    if (!attack) throw { tag: 'not-found', val: name };
    return attack() ?? done('survived');
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
