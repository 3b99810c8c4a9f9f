export * from './anonymous.js';
export * from './api-keys.js';
export * from './authenticator.js';
export * from './bearer.js';
export * from './challenge.js';
