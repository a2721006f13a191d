// A2A JS SDK client: discovers an agent from its card (through whatever URL
// it is given, e.g. the gateway) and sends one message, blocking or
// streaming. v1.0 by default (ClientFactory picks the interface from
// supportedInterfaces); with --v03 it reads the card the way a v0.3 client
// does (no A2A-Version header; the top-level `url`) and talks v0.3 JSON-RPC
// to that url. Prints the endpoint it used, one JSON line per result or
// stream event, then DONE.
//
//   node client.mjs BASE_URL TEXT [--stream] [--v03]
import { ClientFactory } from '@a2a-js/sdk/client';
import { LegacyJsonRpcTransport } from '@a2a-js/sdk/compat/v0_3/client';

const [base, text, ...flags] = process.argv.slice(2);
const stream = flags.includes('--stream');
const v03 = flags.includes('--v03');

let client;
if (v03) {
  const res = await fetch(base.replace(/\/$/, '') + '/.well-known/agent-card.json');
  const card = await res.json();
  console.log('ENDPOINT ' + card.url);
  client = new LegacyJsonRpcTransport({ endpoint: card.url });
} else {
  // createFromUrl(base) would look for the card at the origin's root; the
  // agent may live under a path prefix (a gateway route), so name the card.
  client = await new ClientFactory().createFromUrl(base.replace(/\/$/, '') + '/.well-known/agent-card.json', '');
}
const params = {
  tenant: '',
  message: { messageId: crypto.randomUUID(), contextId: '', taskId: '', role: 1, parts: [{ content: { $case: 'text', value: text } }], metadata: undefined, extensions: [], referenceTaskIds: [] },
  configuration: undefined,
  metadata: undefined,
};
const out = (v) => console.log(JSON.stringify(v, (k, x) => (typeof x === 'bigint' ? String(x) : x)));
if (stream) {
  for await (const ev of client.sendMessageStream(params)) out(ev);
} else {
  out(await client.sendMessage(params));
}
console.log('DONE');
