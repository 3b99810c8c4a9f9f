export * from './collection.js';
