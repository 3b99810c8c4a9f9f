import type { UpgradeRefusal } from '../transport/socket.js';
import { ANONYMOUS_ID } from './auth/anonymous.js';
import type { Limits } from './limits.js';
import { TokenBucket } from './rate-limit.js';

/** Connections open now and new connections allowed, for one remote address or one principal. */
interface Tally {
  open: number;
  readonly connects: TokenBucket;
  /** Until when the address is cooling down after an abuse close (ms since epoch). */
  cooldownUntil?: number;
  /** Whether a refusal to this address is being held back (at most one at a time). */
  holding?: boolean;
}

/** Longest a refusal to a cooling-down address is held before it is answered. */
const HOLD_MS = 1000;

/** One accepted connection's place in the counts, given back exactly once when its socket is gone. */
export interface Ticket {
  readonly address: string;
  pending: boolean;
  principal?: string;
  released: boolean;
}

/**
 * Who may connect, so that a peer opening connections in a loop costs itself and not the others:
 * per remote address (checked at the upgrade, refused with HTTP 429), per principal (checked once
 * authenticated, refused with close 4203), and connections still in the handshake (HTTP 503).
 * Counts follow sockets, not handshakes: a connection counts until its socket is gone.
 */
export class Admission {
  private readonly addresses = new Map<string, Tally>();
  private readonly principals = new Map<string, Tally>();
  /** Connections accepted and neither welcomed nor gone yet. */
  private pending = 0;

  constructor(private readonly limits: Limits) {}

  /** At the upgrade, from the HTTP request alone: a refusal, or undefined to let it through. */
  checkUpgrade(
    remoteAddress: string | undefined,
    now: number,
  ): UpgradeRefusal | Promise<UpgradeRefusal> | undefined {
    const { maxPendingHandshakes, maxConnectionsPerAddress, connectRatePerAddress } = this.limits;
    if (this.pending >= maxPendingHandshakes)
      return refusal(503, `more than ${maxPendingHandshakes} connections in the handshake`, 1000);
    const tally = this.tally(this.addresses, addressKey(remoteAddress), connectRatePerAddress, now);
    if (tally.open >= maxConnectionsPerAddress)
      return refusal(429, `more than ${maxConnectionsPerAddress} connections from this address`, 1000);
    if (tally.cooldownUntil !== undefined && now < tally.cooldownUntil)
      return this.hold(
        tally,
        refusal(429, 'a connection from this address was closed for abuse', tally.cooldownUntil - now),
      );
    // A refused attempt is not charged: a peer that keeps knocking is let in as soon as the rate allows.
    if (!tally.connects.tryTake(now))
      return refusal(
        429,
        `more than ${connectRatePerAddress} new connections per second from this address`,
        tally.connects.retryAfterMs(),
      );
    return undefined;
  }

  /**
   * Answers a cooling-down address's refusal only after a while (one at a time per address; the
   * others at once): a flooder that reconnects the moment it is refused then waits, idle, instead
   * of spending the machine's CPU on refusals. One held socket per address is all it costs.
   */
  private hold(tally: Tally, answer: UpgradeRefusal): UpgradeRefusal | Promise<UpgradeRefusal> {
    if (tally.holding) return answer;
    tally.holding = true;
    return new Promise((resolve) =>
      setTimeout(() => {
        tally.holding = false;
        resolve(answer);
      }, HOLD_MS).unref?.(),
    );
  }

  /**
   * A connection was accepted. Undefined when it is over a count after all (upgrades checked at the
   * same time, or a transport that checks none): it should be closed with 1013.
   */
  accept(remoteAddress: string | undefined, now: number): Ticket | undefined {
    const address = addressKey(remoteAddress);
    const tally = this.tally(this.addresses, address, this.limits.connectRatePerAddress, now);
    if (this.pending >= this.limits.maxPendingHandshakes) return undefined;
    if (tally.open >= this.limits.maxConnectionsPerAddress) return undefined;
    tally.open++;
    this.pending++;
    return { address, pending: true, released: false };
  }

  /**
   * A connection authenticated as `principalId`: a reason to refuse it, or undefined once it is counted.
   * `anonymous()` lets everyone in as one id that is not one user: only its address limits apply.
   */
  admitPrincipal(ticket: Ticket, principalId: string, now: number): string | undefined {
    if (principalId === ANONYMOUS_ID || ticket.released) return undefined;
    const { maxConnectionsPerPrincipal, connectRatePerPrincipal } = this.limits;
    const tally = this.tally(this.principals, principalId, connectRatePerPrincipal, now);
    if (tally.open >= maxConnectionsPerPrincipal)
      return `more than ${maxConnectionsPerPrincipal} connections for this principal`;
    if (!tally.connects.tryTake(now))
      return `more than ${connectRatePerPrincipal} new connections per second for this principal`;
    tally.open++;
    ticket.principal = principalId;
    return undefined;
  }

  /**
   * The connection was closed for abuse (4202): its address may not connect again for
   * `abuseCooldownMs`, so a flooder that reconnects gets a cheap 429 instead of a fresh burst.
   */
  abused(ticket: Ticket, now: number): void {
    const tally = this.tally(this.addresses, ticket.address, this.limits.connectRatePerAddress, now);
    tally.cooldownUntil = now + this.limits.abuseCooldownMs;
  }

  /** The connection was welcomed: it no longer counts as in the handshake. */
  welcomed(ticket: Ticket): void {
    if (!ticket.pending) return;
    ticket.pending = false;
    this.pending--;
  }

  /** The connection's socket is gone: every count it held is given back. */
  release(ticket: Ticket): void {
    if (ticket.released) return;
    ticket.released = true;
    this.welcomed(ticket);
    const address = this.addresses.get(ticket.address);
    if (address) address.open--;
    const principal = ticket.principal === undefined ? undefined : this.principals.get(ticket.principal);
    if (principal) principal.open--;
  }

  /** Forgets peers with nothing open and a full bucket: they would be created the same again. */
  prune(now: number): void {
    for (const tallies of [this.addresses, this.principals]) {
      for (const [key, tally] of tallies) {
        const cooling = tally.cooldownUntil !== undefined && now < tally.cooldownUntil;
        if (tally.open === 0 && !tally.holding && !cooling && tally.connects.isFull(now)) tallies.delete(key);
      }
    }
  }

  private tally(tallies: Map<string, Tally>, key: string, ratePerSecond: number, now: number): Tally {
    let tally = tallies.get(key);
    if (!tally) {
      tally = { open: 0, connects: new TokenBucket(ratePerSecond, ratePerSecond, now) };
      tallies.set(key, tally);
    }
    return tally;
  }
}

/** Peers whose address the transport does not know share one count. */
function addressKey(remoteAddress: string | undefined): string {
  return remoteAddress ?? 'unknown';
}

/** An HTTP refusal whose Retry-After is in whole seconds, at least one. */
function refusal(status: number, body: string, retryAfterMs: number): UpgradeRefusal {
  return { status, body, headers: { 'Retry-After': String(Math.max(1, Math.ceil(retryAfterMs / 1000))) } };
}
