/** The Buster wire (seed 003): `{route, payload}` requests and `WsResponseMessage` responses. */
export * from './codec.js';
export * from './error-codes.js';
export * from './message.js';
export * from './routes.js';
