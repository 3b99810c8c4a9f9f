// Moved to src/protocol/ so that the client can pace itself with the same bucket the server charges.
export { TokenBucket } from '../protocol/token-bucket.js';
