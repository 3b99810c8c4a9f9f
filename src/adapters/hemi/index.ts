export * from './authenticator.js';
export * from './challenge.js';
export * from './client.js';
export * from './signature.js';
