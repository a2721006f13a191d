// A client on the official TypeScript MCP SDK that waits for a target's
// notification on the session's standalone stream (used by the e2e tests):
//   node mcp-listen.mjs URL
// connects over streamable HTTP (the SDK then opens its standalone GET),
// prints "ready", and exits 0 after printing "changed" once a
// notifications/tools/list_changed arrives, or 1 after 30 s.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { ToolListChangedNotificationSchema } from "@modelcontextprotocol/sdk/types.js";

const client = new Client({ name: "agentgateway-e2e-ts-listen", version: "1.0.0" });
const changed = new Promise((resolve) => client.setNotificationHandler(ToolListChangedNotificationSchema, () => resolve()));
await client.connect(new StreamableHTTPClientTransport(new URL(process.argv[2])));
console.log("ready");
const timeout = setTimeout(() => { console.log("timeout"); process.exit(1); }, 30000);
await changed;
clearTimeout(timeout);
console.log("changed");
await client.close();
