// A stdio MCP server (TypeScript SDK) for fault tests: tool "ok" answers,
// tool "crash" exits the process in the middle of the call, tool "hang"
// never answers.
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";

const server = new McpServer({ name: "crashy", version: "1.0.0" });
server.tool("ok", "answers", async () => ({ content: [{ type: "text", text: "ok" }] }));
server.tool("crash", "exits mid-call", async () => {
  process.stderr.write("crashing now\n");
  process.exit(3);
});
server.tool("hang", "never answers", () => new Promise(() => {}));
await server.connect(new StdioServerTransport());
