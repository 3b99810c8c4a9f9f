/**
 * The secp256k1 handshake's messages (heminetwork `api/auth/secp256k1.go`). They are not prefixed
 * by an API: every Hemi daemon that authenticates uses the same four commands.
 */

/** The handshake's command names. `secp256k1-error` is defined by Hemi and never sent. */
export const SECP256K1_COMMANDS = {
  error: 'secp256k1-error',
  hello: 'secp256k1-hello',
  helloChallenge: 'secp256k1-hello-challenge',
  helloChallengeAccepted: 'secp256k1-hello-challenge-accepted',
} as const;

/** The sentence the server asks the client to sign, after the nonce and the key. */
export const CHALLENGE_SENTENCE = 'I am not a robot!';

/** Length of the random nonce that starts every challenge message. */
export const NONCE_LENGTH = 16;

/** C→S `secp256k1-hello`: the client's compressed public key in hex. */
export interface Secp256k1Hello {
  readonly userAgent?: string;
  readonly publickey: string;
}

/** S→C `secp256k1-hello-challenge`: hex of nonce ‖ the text from {@link challengeText}. */
export interface Secp256k1HelloChallenge {
  readonly message: string;
}

/** C→S `secp256k1-hello-challenge-accepted`: hex of the 65-byte compact signature. */
export interface Secp256k1HelloChallengeAccepted {
  readonly signature: string;
}

/** The header ids the handshake uses; each names the client's key as it sent it in the hello. */
export const handshakeIds = {
  hello: (publickey: string) => `Hello:${publickey}`,
  helloChallenge: (publickey: string) => `HelloChallenge:${publickey}`,
  helloChallengeAccepted: (publickey: string) => `HelloChallengeAccepted:${publickey}`,
} as const;

/**
 * The text after the nonce: `Hello: <compressed key hex>\nMessage: I am not a robot!\n`.
 * The server writes the key re-serialized compressed, whatever form the hello used.
 */
export function challengeText(compressedPublicKeyHex: string): string {
  return `Hello: ${compressedPublicKeyHex}\nMessage: ${CHALLENGE_SENTENCE}\n`;
}
