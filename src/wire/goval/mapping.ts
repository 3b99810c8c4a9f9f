import type { BodyCase, BodyInit, BodyValue } from './codec.js';

/** What a client body on a service channel asks for: a call of one of the service's commands, or a refusal. */
export type GovalRequest = { readonly command: string; readonly input: unknown } | { readonly error: string };

/** Body kind → the call it makes. Each decoder gets the generated message (or string) the body carries. */
export type GovalRequestDecoders = { readonly [C in BodyCase]?: (value: BodyValue<C>) => GovalRequest };

/** The body one stream item becomes, and whether it answers the call (then it carries the call's ref). */
export interface GovalItemBody {
  readonly body: BodyInit;
  readonly answers: boolean;
}

/**
 * How one service's commands and events travel as goval `Command` bodies. Names are the service's
 * local ones (`read`, not `files.read`). Encoders throw a TypeError on a payload outside the
 * service contract; decoders only map fields, the service's schemas validate the input.
 */
export interface GovalServiceMapping {
  /** Bodies a client sends on a channel of this service. */
  readonly requests: GovalRequestDecoders;
  /** Command → the reply body for its output. Commands not listed are answered with `ok`. */
  readonly results?: Readonly<Record<string, (output: unknown) => BodyInit>>;
  /** Stream → the body of each item. */
  readonly items?: Readonly<Record<string, (item: unknown) => GovalItemBody>>;
  /** Streams whose end is not sent because an item answers the call (exec's exit). Others end with `ok`. */
  readonly answeredByItem?: readonly string[];
  /** Event → its body. Events not listed are not sent on the goval wire. */
  readonly events?: Readonly<Record<string, (payload: unknown) => BodyInit>>;
}
