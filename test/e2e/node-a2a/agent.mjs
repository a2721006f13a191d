// A small echo agent on the A2A JS SDK's server package (the SDK ships no
// sample agent). It serves v1.0 JSON-RPC and, with legacyCompat, v0.3
// JSON-RPC, and the agent card in both shapes (v0.3 when the request has no
// A2A-Version header). Each message is answered as a task: working, an
// artifact echoing the text, completed; 100 ms apart, so a streaming client
// sees the events arrive one by one.
//
//   node agent.mjs PORT
import express from 'express';
import { AgentEvent, DefaultRequestHandler, InMemoryTaskStore } from '@a2a-js/sdk/server';
import { agentCardHandler, jsonRpcHandler, UserBuilder } from '@a2a-js/sdk/server/express';
import { TaskState } from '@a2a-js/sdk';

const port = Number(process.argv[2] || 9999);
const url = `http://127.0.0.1:${port}/a2a/jsonrpc`;
const card = {
  name: 'JS Echo',
  description: 'Echoes the user message (A2A JS SDK)',
  version: '1.0.0',
  supportedInterfaces: [
    { url, protocolBinding: 'JSONRPC', protocolVersion: '1.0', tenant: '' },
    { url, protocolBinding: 'JSONRPC', protocolVersion: '0.3', tenant: '' },
  ],
  capabilities: { streaming: true, pushNotifications: false, extensions: [], extendedAgentCard: false },
  defaultInputModes: ['text/plain'],
  defaultOutputModes: ['text/plain'],
  skills: [{ id: 'echo', name: 'echo', description: 'echo', tags: ['echo'], examples: [], inputModes: [], outputModes: [], securityRequirements: [] }],
  securitySchemes: {},
  securityRequirements: [],
  signatures: [],
};

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const status = (state) => ({ state, message: undefined, timestamp: new Date().toISOString() });

class Echo {
  async execute(ctx, bus) {
    const text = ctx.userMessage.parts.map((p) => (p.content?.$case === 'text' ? p.content.value : '')).join('');
    const base = { id: ctx.taskId, contextId: ctx.contextId };
    bus.publish(AgentEvent.task({ ...base, status: status(TaskState.TASK_STATE_SUBMITTED), artifacts: [], history: [ctx.userMessage], metadata: undefined }));
    await sleep(100);
    bus.publish(AgentEvent.statusUpdate({ taskId: ctx.taskId, contextId: ctx.contextId, status: status(TaskState.TASK_STATE_WORKING), metadata: undefined }));
    await sleep(100);
    bus.publish(AgentEvent.artifactUpdate({
      taskId: ctx.taskId, contextId: ctx.contextId, append: false, lastChunk: true, metadata: undefined,
      artifact: { artifactId: 'echo', name: 'echo', description: '', parts: [{ content: { $case: 'text', value: 'js echo: ' + text }, metadata: undefined, filename: '', mediaType: 'text/plain' }], metadata: undefined, extensions: [] },
    }));
    await sleep(100);
    bus.publish(AgentEvent.statusUpdate({ taskId: ctx.taskId, contextId: ctx.contextId, status: status(TaskState.TASK_STATE_COMPLETED), metadata: undefined }));
    bus.finished();
  }
  async cancelTask() {}
}

const handler = new DefaultRequestHandler(card, new InMemoryTaskStore(), new Echo());
const app = express();
app.use('/.well-known/agent-card.json', agentCardHandler({ agentCardProvider: handler, legacyCompat: { enabled: true } }));
app.use('/a2a/jsonrpc', jsonRpcHandler({ requestHandler: handler, userBuilder: UserBuilder.noAuthentication, legacyCompat: { enabled: true } }));
app.listen(port, '127.0.0.1', () => console.log(`listening on ${port}`));
