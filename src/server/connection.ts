import { randomUUID } from 'node:crypto';
import { CLOSE_CODES } from '../protocol/close-codes.js';
import { compareContracts, DEFAULT_CONTRACT_BOUNDS, isContract } from '../protocol/compatibility.js';
import type { Contract } from '../protocol/contract.js';
import { RequestError } from '../protocol/errors.js';
import { versionMismatch } from '../protocol/version.js';
import type { Socket, UpgradeRequest } from '../transport/socket.js';
import type { Decoded, Frame } from '../wire/format.js';
import type {
  CallId,
  Message,
  Publish,
  Reauth,
  ServerMessage,
  Subscribe,
  Unsubscribe,
} from '../wire/message.js';
import type { AuthOutcome, Principal } from './auth/authenticator.js';
import type { CallControl } from './call-control.js';
import type { ChannelBinding } from './channels.js';
import { dispatch } from './dispatch.js';
import { newTraceId, toErrorMessage } from './errors.js';
import type { EventSubject } from './event-log.js';
import type { ConnectionInfo } from './handlers.js';
import { eventOfClose, eventOfError } from './log-events.js';
import { MessageRate } from './message-rate.js';
import { answerRecordingCommand, type Recording } from './recording.js';
import type { Runtime } from './runtime.js';

type State = 'hello' | 'authenticating' | 'challenge' | 'contract' | 'open' | 'closed';

/** Longest `setTimeout` delay; a later expiry is re-armed when this one fires. */
const MAX_TIMER_MS = 2_147_483_647;
/** How long a closing peer gets to answer the close frame before the socket is dropped. */
const CLOSE_GRACE_MS = 1000;

/**
 * One client connection: its handshake, its running calls, its limits and its liveness.
 * Owns the socket; nothing else writes to it.
 */
export class Connection implements ConnectionInfo {
  readonly id = randomUUID();
  /** Calls running now, by id; aborting one ends its handler's signal. */
  readonly inFlight = new Map<CallId, CallControl>();
  /** When the last frame of any kind arrived (ms since epoch): what dead-peer detection watches. */
  lastSeenAt = Date.now();
  /** When the last message arrived (pongs of transport-level pings excluded): what the idle limit watches. */
  lastMessageAt = this.lastSeenAt;
  /** Channels open on this connection, by number (the ChannelHub keeps the instances). */
  readonly channels = new Map<number, ChannelBinding>();
  /** The next channel number to give out; 0 is goval's control channel. */
  nextChannel = 1;
  /** Topic keys this connection follows (the TopicHub keeps the rest of the state). */
  readonly topics = new Set<string>();
  /** Round-trip time measured by the last ping this server sent, in ms. */
  rttMs: number | undefined;
  private state: State = 'hello';
  private principalValue: Principal | undefined;
  private verifyChallenge: ((response: unknown) => AuthOutcome | Promise<AuthOutcome>) | undefined;
  private readonly rate: MessageRate;
  private handshakeTimer: ReturnType<typeof setTimeout> | undefined;
  private expiryTimer: ReturnType<typeof setTimeout> | undefined;
  /** The contract the hello carried, compared with ours once the peer is authenticated. */
  private peerContract: unknown;
  /** The hello's contract hash differed from ours: the full contract is asked for after authentication. */
  private contractWanted = false;
  /** Authenticated, waiting for the contract asked for: admitted (or not) once it is compared. */
  private pendingPrincipal: Principal | undefined;
  /** Who the authenticator accepted, from then on (before the welcome too): for log lines. */
  private authenticatedId: string | undefined;
  /** The trace id of the fault that is closing this connection, for its close line. */
  private closeTraceId: string | undefined;

  constructor(
    readonly runtime: Runtime,
    private readonly socket: Socket,
    readonly request: UpgradeRequest,
  ) {
    const { limits } = runtime;
    this.rate = new MessageRate(limits.ratePerSecond, limits.rateBurst, Date.now());
    // Until the welcome a peer is unknown: it may hold a much smaller frame than one welcomed.
    socket.limitFrames?.(this.handshakeBytes);
    this.handshakeTimer = setTimeout(() => {
      const waitingFor = WAITING_FOR[this.state] ?? 'hello';
      // Dropped, not closed politely: a peer that never said hello will not answer a close frame either.
      this.guarded('closing an unfinished handshake', () =>
        this.drop(
          CLOSE_CODES.HANDSHAKE_TIMEOUT.code,
          `no ${waitingFor} within ${limits.handshakeTimeoutMs} ms`,
        ),
      );
    }, limits.handshakeTimeoutMs);
    socket.listen({
      message: (frame) => this.guarded('handling a frame', () => this.receive(frame)),
      close: (code, reason) => this.closedBySocket(code, reason),
      pong: () => {
        this.lastSeenAt = Date.now();
      },
    });
    if (runtime.wire.handshake === 'upgrade') {
      // No hello on this wire: the upgrade request is all the authenticator gets.
      this.state = 'authenticating';
      this.settleAuth(() => runtime.auth.authenticate({ credentials: undefined, request }));
    }
  }

  get principal(): Principal {
    if (!this.principalValue) throw new Error('connection is not authenticated yet');
    return this.principalValue;
  }

  get isOpen(): boolean {
    return this.state === 'open';
  }

  /** The traffic recording running on this connection (goval's VCR), if any. */
  recording: Recording | undefined;

  /** The channel a message belongs to: its own field, or the channel of the call it answers. */
  private channelOf(message: Message): number | undefined {
    if ('channel' in message && typeof message.channel === 'number') return message.channel;
    if ('id' in message && message.id !== undefined && message.type !== 'call')
      return this.inFlight.get(message.id)?.channel;
    return undefined;
  }

  /** Calls running on one channel: they end when it closes. */
  *channelCalls(channel: number): Iterable<CallControl> {
    for (const control of this.inFlight.values()) if (control.channel === channel) yield control;
  }

  /** Bytes accepted for this connection but not yet handed to the network. */
  get bufferedAmount(): number {
    return this.socket.bufferedAmount;
  }

  /** Encodes and sends; formats that cannot carry a message kind encode it as null and it is skipped. */
  send(message: ServerMessage): void {
    if (message.type === 'error') this.logRefusal(message);
    if (this.state === 'closed') return;
    let frame: Frame | null;
    try {
      frame = this.runtime.wire.encode(message);
    } catch (error) {
      // Only our own values can fail to encode (a BigInt in an output, say): report it as ours.
      if (message.type === 'error' || !('id' in message)) {
        this.runtime.logger.error('could not encode a message', {
          traceId: newTraceId(),
          connectionId: this.id,
          error,
        });
        return;
      }
      this.send(
        toErrorMessage(this.runtime, error, message.id, {
          connectionId: this.id,
          ...('command' in message && message.command ? { command: message.command } : {}),
        }),
      );
      return;
    }
    if (frame === null) return;
    this.recording?.record('out', message, this.channelOf(message), frame);
    this.write(frame);
  }

  /**
   * The heartbeat's ping. Wires without a ping message (Buster, fetch_ml) get a WebSocket ping frame
   * instead, whose pong the transport reports as liveness.
   */
  ping(now: number): void {
    if (this.state === 'closed') return;
    let frame: Frame | null;
    try {
      frame = this.runtime.wire.encode({ type: 'ping', ts: now });
    } catch {
      // A wire that cannot encode pings is one that has none: same as null.
      frame = null;
    }
    if (frame !== null) this.sendFrame(frame);
    else this.socket.ping?.();
  }

  /** Sends an already encoded frame (a broadcast encodes once for all). Enforces the send buffer limit. */
  sendFrame(frame: Frame, utf8?: Uint8Array): void {
    if (this.recording && this.state !== 'closed') {
      // Broadcast frames come encoded: a recording decodes them back (only while one is running).
      const decoded = this.decode(frame);
      if (decoded.ok) this.recording.record('out', decoded.message, this.channelOf(decoded.message), frame);
    }
    this.write(frame, utf8);
  }

  private write(frame: Frame, utf8?: Uint8Array): void {
    if (this.state === 'closed') return;
    if (utf8 && this.socket.sendText) this.socket.sendText(utf8);
    else this.socket.send(frame);
    if (this.socket.bufferedAmount > this.runtime.limits.maxBufferedBytes) {
      this.close(
        CLOSE_CODES.SLOW_CONSUMER.code,
        `send buffer over ${this.runtime.limits.maxBufferedBytes} bytes`,
        true,
      );
    }
  }

  /** Who this connection's log lines are about: id, remote address, and principal once known. */
  private subject(traceId?: string): EventSubject {
    const principal = this.principalValue?.id ?? this.authenticatedId;
    return {
      connectionId: this.id,
      ...(this.request.remoteAddress === undefined ? {} : { remoteAddress: this.request.remoteAddress }),
      ...(principal === undefined ? {} : { principal }),
      ...(traceId === undefined ? {} : { traceId }),
    };
  }

  /** Logs an error answer that refuses a peer's message (BAD_MESSAGE, RATE_LIMITED, TOO_MANY_IN_FLIGHT). */
  private logRefusal(message: ServerMessage & { type: 'error' }): void {
    const event = eventOfError(message.code);
    if (!event) return;
    this.runtime.events.write(event, this.subject(message.traceId), {
      code: message.code,
      reason: message.message,
      ...(message.id === undefined ? {} : { callId: message.id }),
    });
  }

  /**
   * Closes with a code and reason, aborting running calls. `hard` drops the socket after a short
   * grace: a peer that does not read will never answer the close frame.
   */
  close(code: number, reason: string, hard = false): void {
    if (this.state === 'closed') return;
    this.finish(code, reason, true);
    this.socket.close(this.runtime.wire.closeCodes?.[code] ?? code, reason);
    if (hard) setTimeout(() => this.socket.terminate(), CLOSE_GRACE_MS).unref?.();
  }

  /**
   * Runs work done on this connection's behalf (one frame, one call's bookkeeping, one async step)
   * so that whatever it throws or rejects with ends this connection only: close 1011, the cause
   * logged under a trace id. Never the process, never another connection.
   */
  guarded(doing: string, work: () => unknown): void {
    try {
      const pending = work();
      if (pending instanceof Promise) pending.catch((error: unknown) => this.fault(doing, error));
    } catch (error) {
      this.fault(doing, error);
    }
  }

  /** Something threw while serving this connection: it ends, with 1011 and a trace id in the log. */
  fault(doing: string, error: unknown): void {
    const traceId = newTraceId();
    this.runtime.logger.error(`connection fault while ${doing}`, { traceId, connectionId: this.id, error });
    this.closeTraceId = traceId;
    try {
      this.close(CLOSE_CODES.INTERNAL_ERROR.code, `internal error (trace ${traceId})`);
    } catch (closeError) {
      // Even closing failed (a custom socket, say): drop it rather than leave it half open.
      this.runtime.logger.error('could not close a faulted connection', {
        traceId,
        connectionId: this.id,
        error: closeError,
      });
      this.state = 'closed';
      try {
        this.socket.terminate();
      } catch {
        // Nothing more can be done for this socket; the fault is logged above.
      }
    }
  }

  /**
   * Sends the close frame and drops the socket at once, reading nothing more: for a peer that abuses
   * the connection or never finished its handshake, whose answer is not worth waiting for.
   */
  private drop(code: number, reason: string): void {
    if (this.state === 'closed') return;
    this.close(code, reason);
    this.socket.terminate();
  }

  /** The largest frame accepted before the welcome. */
  private get handshakeBytes(): number {
    return Math.min(this.runtime.limits.maxHandshakeBytes, this.runtime.limits.maxMessageBytes);
  }

  private receive(frame: Frame): void {
    if (this.state === 'closed') return;
    const now = Date.now();
    this.lastSeenAt = now;
    this.lastMessageAt = now;
    const verdict = this.rate.admit(now);
    // Past the rate limit and already told so: discarded unread, so a flood costs a token check per frame.
    if (verdict === 'drop') return;
    if (verdict === 'abuse') {
      this.runtime.abused(this);
      this.drop(CLOSE_CODES.RATE_LIMIT_ABUSE.code, 'kept sending past the rate limit');
      return;
    }
    if (this.state !== 'open' && exceedsBytes(frame, this.handshakeBytes)) {
      // The transport usually refuses such a frame itself (limitFrames); this holds for any transport.
      this.drop(
        CLOSE_CODES.MESSAGE_TOO_BIG.code,
        `frame over ${this.handshakeBytes} bytes before the welcome`,
      );
      return;
    }
    const decoded = this.decode(frame);
    if (!decoded.ok) {
      const { error } = decoded;
      if (error.code === 'UNSUPPORTED_FRAME') this.close(CLOSE_CODES.UNSUPPORTED_DATA.code, error.message);
      else if (error.code === 'INCOMPATIBLE')
        this.close(CLOSE_CODES.INCOMPATIBLE_PROTOCOL.code, error.message);
      else if (this.state !== 'open') this.close(CLOSE_CODES.PROTOCOL_ERROR.code, error.message);
      else {
        this.send({
          type: 'error',
          ...(error.id === undefined ? {} : { id: error.id }),
          code: 'BAD_MESSAGE',
          message: error.message,
        });
      }
      return;
    }
    const message = decoded.message;
    this.recording?.record('in', message, this.channelOf(message), frame);
    if (this.state === 'open') this.receiveOpen(message, verdict === 'refuse', now);
    else this.receiveHandshake(message);
  }

  /** A decoder must not throw; one that does (a bug in a custom wire) costs this frame, not the process. */
  private decode(frame: Frame): Decoded {
    try {
      return this.runtime.wire.decode(frame);
    } catch (error) {
      const traceId = newTraceId();
      this.runtime.logger.error('the wire decoder threw', { traceId, connectionId: this.id, error });
      return { ok: false, error: { code: 'BAD_MESSAGE', message: `undecodable frame (trace ${traceId})` } };
    }
  }

  /** `limited`: the frame came past the rate limit, and requests in it are answered RATE_LIMITED. */
  private receiveOpen(message: Message, limited: boolean, now: number): void {
    switch (message.type) {
      case 'call':
        if (limited) this.rateLimited(message.id);
        else if (message.command.startsWith('$vcr.')) answerRecordingCommand(this, message);
        else dispatch(this, message);
        return;
      case 'subscribe':
      case 'publish':
      case 'unsubscribe':
        if (limited) this.rateLimited(message.id);
        else this.topicRequest(message);
        return;
      case 'reauth':
        if (limited) this.rateLimited(message.id);
        else this.guarded('refreshing credentials', () => this.reauthenticate(message));
        return;
      case 'open':
        if (limited) this.rateLimited(message.id);
        else this.guarded('opening a channel', () => this.runtime.channels.open(this, message));
        return;
      case 'closeChannel':
        this.guarded('closing a channel', () => this.runtime.channels.close(this, message));
        return;
      case 'credit':
        // Like cancels, credits go through past the rate limit: they only let the server go on.
        this.inFlight.get(message.id)?.grant(message.items);
        return;
      case 'cancel':
        // Cancels go through even past the rate limit: they only ever reduce load.
        this.inFlight.get(message.id)?.abort(new RequestError('CANCELLED', 'cancelled by the caller'));
        return;
      case 'ping':
        if (!limited)
          this.send({
            type: 'pong',
            ts: message.ts,
            at: now,
            ...(message.id === undefined ? {} : { id: message.id }),
          });
        return;
      case 'pong':
        this.rttMs = Math.max(0, now - message.ts);
        return;
      case 'hello':
      case 'auth':
        this.close(CLOSE_CODES.PROTOCOL_ERROR.code, `unexpected ${message.type} after the handshake`);
        return;
      default:
        this.send({ type: 'error', code: 'BAD_MESSAGE', message: `a client may not send "${message.type}"` });
    }
  }

  /**
   * In-band refresh: the same user presents fresh credentials. Calls in flight and subscriptions stay;
   * subscriptions the new permissions no longer allow end with `unsubscribed` (PERMISSION_DENIED).
   * A refusal changes nothing: the old credentials hold until they expire.
   */
  private async reauthenticate(message: Reauth): Promise<void> {
    const refuse = (reason: string) =>
      this.send({ type: 'error', id: message.id, code: 'UNAUTHENTICATED', message: reason });
    let outcome: AuthOutcome;
    try {
      outcome = await this.runtime.auth.authenticate({
        credentials: message.credentials,
        request: this.request,
      });
    } catch (error) {
      const traceId = newTraceId();
      this.runtime.logger.error('authenticator failed on refresh', { traceId, connectionId: this.id, error });
      this.send({ type: 'error', id: message.id, code: 'INTERNAL', message: 'Internal error', traceId });
      return;
    }
    if (this.state !== 'open') return;
    if (outcome.ok === 'challenge')
      return refuse('a challenge-response authenticator cannot refresh in band');
    if (!outcome.ok) return refuse(outcome.reason);
    const principal = outcome.principal;
    if (typeof principal?.id !== 'string' || !Array.isArray(principal.permissions))
      return refuse('the authenticator accepted without a principal');
    if (principal.id !== this.principal.id)
      return refuse(`a refresh must keep the same principal (${this.principal.id}), not ${principal.id}`);
    if (principal.expiresAt !== undefined && principal.expiresAt <= Date.now())
      return refuse('credentials already expired');
    this.principalValue = principal;
    clearTimeout(this.expiryTimer);
    this.expiryTimer = undefined;
    if (principal.expiresAt !== undefined) this.armExpiry(principal.expiresAt);
    await this.runtime.topics.recheck(this);
    this.send({
      type: 'result',
      id: message.id,
      output: {
        principal: { id: principal.id, permissions: principal.permissions },
        ...(principal.expiresAt === undefined ? {} : { expiresAt: principal.expiresAt }),
      },
    });
  }

  private rateLimited(id: CallId): void {
    this.rate.refused();
    this.send({
      type: 'error',
      id,
      code: 'RATE_LIMITED',
      message: `more than ${this.runtime.limits.ratePerSecond} messages per second`,
      data: { retryAfterMs: this.rate.retryAfterMs() },
    });
  }

  private topicRequest(message: Subscribe | Publish | Unsubscribe): void {
    const { topics } = this.runtime;
    const reply = (work: Promise<unknown>) =>
      this.guarded(`answering ${message.type}`, () =>
        work.then(
          (output) => output !== undefined && this.send({ type: 'result', id: message.id, output }),
          (error) => this.send(toErrorMessage(this.runtime, error, message.id, { connectionId: this.id })),
        ),
      );
    if (message.type === 'subscribe') reply(topics.subscribe(this, message));
    else if (message.type === 'publish') reply(topics.clientPublish(this, message));
    else {
      topics.unsubscribe(this, message.key);
      this.send({ type: 'result', id: message.id, output: null });
    }
  }

  private receiveHandshake(message: Message): void {
    if (this.state === 'hello' && message.type === 'hello') {
      // Names and versions are compared at once (a few characters); a contract is the peer's to
      // shape, so it is compared only once the peer is authenticated (in applyAuth).
      if (message.contract === undefined || message.protocol !== this.runtime.protocol.name) {
        const mismatch = versionMismatch(this.runtime.protocol, {
          name: message.protocol,
          version: message.version,
        });
        if (mismatch) {
          this.close(CLOSE_CODES.INCOMPATIBLE_PROTOCOL.code, mismatch);
          return;
        }
      } else this.peerContract = message.contract;
      // Only a hash that differs from ours costs a round trip, and only once the peer is authenticated.
      this.contractWanted =
        message.contract === undefined &&
        message.contractHash !== undefined &&
        message.contractHash !== this.runtime.contractHash;
      this.state = 'authenticating';
      this.settleAuth(() =>
        this.runtime.auth.authenticate({ credentials: message.credentials, request: this.request }),
      );
      return;
    }
    if (this.state === 'challenge' && message.type === 'auth' && this.verifyChallenge) {
      const verify = this.verifyChallenge;
      this.verifyChallenge = undefined;
      this.state = 'authenticating';
      this.settleAuth(() => verify(message.response));
      return;
    }
    if (this.state === 'contract' && message.type === 'contract' && this.pendingPrincipal) {
      const principal = this.pendingPrincipal;
      this.pendingPrincipal = undefined;
      this.admitMatching(message.contract, 'malformed contract in the answer', principal);
      return;
    }
    const expected = EXPECTED_IN[this.state] ?? 'nothing';
    this.close(
      CLOSE_CODES.PROTOCOL_ERROR.code,
      `expected ${expected} during the handshake, got ${message.type}`,
    );
  }

  private settleAuth(step: () => AuthOutcome | Promise<AuthOutcome>): void {
    let outcome: AuthOutcome | Promise<AuthOutcome>;
    try {
      outcome = step();
    } catch (error) {
      this.authFault(error);
      return;
    }
    this.guarded('completing the handshake', () =>
      Promise.resolve(outcome).then(
        (result) => this.applyAuth(result),
        (error) => this.authFault(error),
      ),
    );
  }

  private authFault(error: unknown): void {
    const traceId = newTraceId();
    this.runtime.logger.error('authenticator failed', { traceId, connectionId: this.id, error });
    this.closeTraceId = traceId;
    this.close(CLOSE_CODES.HANDSHAKE_FAILED.code, `authentication failed (trace ${traceId})`);
  }

  private applyAuth(outcome: AuthOutcome): void {
    if (this.state !== 'authenticating') return;
    if (outcome.ok === 'challenge') {
      this.state = 'challenge';
      this.verifyChallenge = (response) => outcome.verify(response);
      this.send({ type: 'challenge', challenge: outcome.challenge });
      return;
    }
    if (!outcome.ok) {
      this.close(outcome.closeCode ?? CLOSE_CODES.HANDSHAKE_FAILED.code, outcome.reason);
      return;
    }
    const principal = outcome.principal;
    if (typeof principal?.id !== 'string' || !Array.isArray(principal.permissions)) {
      this.authFault(
        new TypeError('the authenticator accepted without a principal {id: string, permissions: string[]}'),
      );
      return;
    }
    this.authenticatedId = principal.id;
    if (principal.expiresAt !== undefined && principal.expiresAt <= Date.now()) {
      this.close(CLOSE_CODES.HANDSHAKE_FAILED.code, 'credentials already expired');
      return;
    }
    if (this.peerContract !== undefined) {
      const contract = this.peerContract;
      this.peerContract = undefined;
      this.admitMatching(contract, 'malformed contract in the hello', principal);
    } else if (this.contractWanted) {
      this.contractWanted = false;
      this.state = 'contract';
      this.pendingPrincipal = principal;
      this.send({ type: 'contractRequest' });
    } else this.admit(principal);
  }

  /** Admits an authenticated peer whose contract is compatible with ours; else closes with 4102 naming why. */
  private admitMatching(contract: unknown, malformed: string, principal: Principal): void {
    const mismatch = contractMismatch(
      contract,
      this.runtime.contract,
      this.runtime.limits.maxDepth,
      malformed,
    );
    if (mismatch) this.close(CLOSE_CODES.INCOMPATIBLE_PROTOCOL.code, mismatch);
    else this.admit(principal);
  }

  /** The last step of the handshake: counts the principal's connections and sends the welcome. */
  private admit(principal: Principal): void {
    if (this.runtime.shuttingDown) {
      this.close(CLOSE_CODES.SERVICE_RESTART.code, 'server shutting down');
      return;
    }
    const refusal = this.runtime.admitPrincipal(this, principal.id);
    if (refusal) {
      this.close(CLOSE_CODES.TOO_MANY_CONNECTIONS.code, refusal);
      return;
    }
    clearTimeout(this.handshakeTimer);
    this.handshakeTimer = undefined;
    this.principalValue = principal;
    this.state = 'open';
    this.socket.limitFrames?.(this.runtime.limits.maxMessageBytes);
    const { limits, protocol } = this.runtime;
    this.send({
      type: 'welcome',
      connectionId: this.id,
      protocol: protocol.name,
      version: protocol.version,
      principal: { id: principal.id, permissions: principal.permissions },
      ...(principal.expiresAt === undefined ? {} : { expiresAt: principal.expiresAt }),
      heartbeatMs: limits.heartbeatMs,
      limits: {
        maxMessageBytes: limits.maxMessageBytes,
        maxInFlight: limits.maxInFlight,
        ratePerSecond: limits.ratePerSecond,
        rateBurst: limits.rateBurst,
      },
    });
    if (principal.expiresAt !== undefined) this.armExpiry(principal.expiresAt);
    this.runtime.opened(this);
  }

  private armExpiry(expiresAt: number): void {
    const delay = expiresAt - Date.now();
    this.expiryTimer = setTimeout(
      () =>
        this.guarded('ending an expired session', () => {
          if (Date.now() < expiresAt) return this.armExpiry(expiresAt);
          this.send({ type: 'goodbye', reason: 'credentials expired' });
          this.close(CLOSE_CODES.SESSION_EXPIRED.code, 'credentials expired');
        }),
      Math.max(0, Math.min(delay, MAX_TIMER_MS)),
    );
  }

  private closedBySocket(code: number, reason: string): void {
    // Counts first, so that onDisconnect already sees the connection's place given back.
    this.runtime.released(this);
    if (this.state !== 'closed') this.finish(code, reason, false);
  }

  /** Leaves every state exactly once: logs the close, stops timers, ends running calls, tells the server. */
  private finish(code: number, reason: string, byServer: boolean): void {
    const wasOpen = this.state === 'open';
    this.state = 'closed';
    const event = eventOfClose(code, byServer);
    const subject = this.subject(this.closeTraceId);
    const level = event === 'connection.closed' && !byServer ? 'debug' : undefined;
    this.runtime.events.closed(
      event,
      subject,
      { code, reason, ...(event === 'connection.closed' ? { byServer } : {}) },
      level,
    );
    clearTimeout(this.handshakeTimer);
    clearTimeout(this.expiryTimer);
    for (const controller of this.inFlight.values()) {
      controller.abort(new RequestError('DISCONNECTED', `connection closed: ${code} ${reason}`));
    }
    if (!wasOpen) return;
    try {
      this.runtime.closed(this, code, reason);
    } catch (error) {
      // The connection is closed whatever its listeners do (onDisconnect is application code).
      this.runtime.logger.error('a close listener threw', {
        traceId: newTraceId(),
        connectionId: this.id,
        error,
      });
    }
  }
}

/** What the handshake timeout says the server was waiting for, by state. */
const WAITING_FOR: Partial<Record<State, string>> = { challenge: 'challenge response', contract: 'contract' };

/** The one message each handshake state accepts, for the close reason of any other. */
const EXPECTED_IN: Partial<Record<State, string>> = {
  hello: 'hello',
  challenge: 'auth',
  contract: 'contract',
};

/** Why a client of this contract cannot use the server's, or undefined: the first breaking change. */
function contractMismatch(
  client: unknown,
  server: Contract,
  maxDepth: number,
  malformed: string,
): string | undefined {
  if (!isContract(client)) return malformed;
  const report = compareContracts(client, server, { ...DEFAULT_CONTRACT_BOUNDS, maxDepth });
  return report.compatible ? undefined : `incompatible contract: ${report.breaking[0]!.message}`;
}

/** Whether a frame is longer than `limit` bytes; the exact UTF-8 length is counted only when it could be. */
function exceedsBytes(frame: Frame, limit: number): boolean {
  if (typeof frame !== 'string') return frame.byteLength > limit;
  return frame.length * 3 > limit && Buffer.byteLength(frame) > limit;
}
