// A client on the official TypeScript MCP SDK, used by the e2e tests:
//   node mcp-client.mjs URL TOOL ARGS_JSON
// connects to URL (legacy SSE when it ends in /sse, else streamable HTTP),
// lists the tools, calls TOOL with ARGS_JSON and prints one JSON line:
// {"sessionId", "tools": [names], "result": <CallToolResult>}.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { SSEClientTransport } from "@modelcontextprotocol/sdk/client/sse.js";

const [url, tool, args] = process.argv.slice(2);
const u = new URL(url);
const transport = u.pathname.endsWith("/sse") ? new SSEClientTransport(u) : new StreamableHTTPClientTransport(u);
const client = new Client({ name: "agentgateway-e2e-ts", version: "1.0.0" });
await client.connect(transport);
const tools = await client.listTools();
const result = tool ? await client.callTool({ name: tool, arguments: JSON.parse(args || "{}") }) : null;
console.log(JSON.stringify({ sessionId: transport.sessionId ?? null, tools: tools.tools.map((t) => t.name), result }));
await client.close();
