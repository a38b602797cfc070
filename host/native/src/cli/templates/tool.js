// {{name}}: an MCP server for SMCP in JavaScript, built by componentize-js
// (npm run build) against the smallest world of wit/ with what it uses:
// tool-server imports only the capabilities every server has.
const object = (properties, required) => JSON.stringify({ type: 'object', properties, required });

const TOOLS = [
  {
    name: 'divide',
    description: 'Divides a by b.',
    inputSchema: object({ a: { type: 'number' }, b: { type: 'number' } }, ['a', 'b']),
  },
];

// A tool's answer; `isError` results are errors the model reads.
const answer = (text, structured, isError = false) => ({
  tag: 'complete',
  val: { content: [{ tag: 'text', val: text }], structuredContent: structured && JSON.stringify(structured), isError },
});

export const server = {
  listTools: () => TOOLS,
  callTool(name, args) {
    if (name !== 'divide') throw { tag: 'not-found', val: `no tool \`${name}\`` };
    const { a, b } = JSON.parse(args);
    if (b === 0) return answer('division by zero', undefined, true);
    return answer(String(a / b), { quotient: a / b });
  },
  listResources: () => [],
  taskTools: () => [],
  listResourcesPage: () => ({ resources: [] }),
  listResourceTemplates: () => [],
  readResource(uri) {
    throw { tag: 'not-found', val: `no resource \`${uri}\`` };
  },
  listPrompts: () => [],
  getPrompt(name) {
    throw { tag: 'not-found', val: `no prompt \`${name}\`` };
  },
  complete: () => ({ values: [], total: undefined, hasMore: false }),
};
