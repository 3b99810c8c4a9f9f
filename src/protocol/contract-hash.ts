import { type Contract, contractOf } from './contract.js';
import type { Protocol } from './define.js';
import { fnv1a64 } from './fnv1a64.js';

/**
 * The digest of a contract a hello carries: FNV-1a 64 of the UTF-8 bytes of its canonical JSON (no
 * whitespace, object keys sorted by code unit at every level, arrays in order). Equal contracts hash
 * equal whatever order their members were defined in. See docs/contracts.md.
 */
export function contractHash(contract: Contract): string {
  return fnv1a64(new TextEncoder().encode(canonicalJson(contract)));
}

/** JSON with sorted object keys, so that equal values give equal text. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((item) => canonicalJson(item ?? null)).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    const fields = Object.keys(record)
      .filter((key) => record[key] !== undefined)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonicalJson(record[key])}`);
    return `{${fields.join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

const contracts = new WeakMap<Protocol<any>, { contract: Contract; hash?: string }>();

/** A protocol's contract is the same for every connect: computed once per protocol. */
export function cachedContract(protocol: Protocol<any>): Contract {
  return entry(protocol).contract;
}

/** The hash of a protocol's contract, computed once per protocol. */
export function cachedContractHash(protocol: Protocol<any>): string {
  const cached = entry(protocol);
  cached.hash ??= contractHash(cached.contract);
  return cached.hash;
}

function entry(protocol: Protocol<any>): { contract: Contract; hash?: string } {
  let cached = contracts.get(protocol);
  if (!cached) {
    cached = { contract: contractOf(protocol) };
    contracts.set(protocol, cached);
  }
  return cached;
}
