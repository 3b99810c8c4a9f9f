// A chat server and two clients talking, runnable as is: npx tsx --conditions=source examples/chat/main.ts
import { conversation } from './conversation.js';
import { startChatServer } from './server.js';

const server = await startChatServer();
for (const line of await conversation(server.url)) console.log(line);
await server.close();
