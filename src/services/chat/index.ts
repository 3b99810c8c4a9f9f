export { CHAT_DEFAULTS, type ChatOptions, ChatRoom, chat } from './chat.js';
export { Scrollback } from './scrollback.js';
export {
  CHAT_ERRORS,
  ChatMessage,
  ChatScrollback,
  type ChatService,
  ChatTyping,
  chatService,
  Roster,
} from './service.js';
export { User, userOf } from './user.js';
