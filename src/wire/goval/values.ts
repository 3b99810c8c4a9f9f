/**
 * Conversions between the core's JSON-shaped payloads and goval's protobuf fields, shared by the
 * service mappings. Encoders throw a TypeError on a payload that does not have the contract's shape:
 * the server reports that as INTERNAL (it is our bug, never the client's).
 */
import { create } from '@bufbuild/protobuf';
import type { BodyInit } from './codec.js';
import { type File, File_Type, FileSchema, OKSchema, type User, UserSchema } from './gen/api_pb.js';

/** The goval `User`, as the services produce it (see the service contracts in docs/goval.md). */
export interface GovalUser {
  readonly id: number;
  readonly name: string;
  readonly roles: readonly string[];
  readonly session: number;
}

/** A file as the files service names it. */
export interface FileEntry {
  readonly path: string;
  readonly type: 'file' | 'directory';
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Reads an object payload or throws: encode-side only. */
export function record(value: unknown, what: string): Record<string, unknown> {
  if (!isObject(value)) throw new TypeError(`goval: ${what} must be an object`);
  return value;
}

export function string(value: unknown, what: string): string {
  if (typeof value !== 'string') throw new TypeError(`goval: ${what} must be a string`);
  return value;
}

/** A uint32 field: a non-negative integer below 2^32. */
export function uint32(value: unknown, what: string): number {
  if (!Number.isInteger(value) || (value as number) < 0 || (value as number) > 0xffff_ffff)
    throw new TypeError(`goval: ${what} must be a uint32`);
  return value as number;
}

/** An int32 field. */
export function int32(value: unknown, what: string): number {
  if (!Number.isInteger(value) || (value as number) < -0x8000_0000 || (value as number) > 0x7fff_ffff)
    throw new TypeError(`goval: ${what} must be an int32`);
  return value as number;
}

export function array(value: unknown, what: string): readonly unknown[] {
  if (!Array.isArray(value)) throw new TypeError(`goval: ${what} must be an array`);
  return value;
}

export function userToGoval(value: unknown): User {
  const user = record(value, 'user');
  return create(UserSchema, {
    id: uint32(user.id, 'user.id'),
    name: string(user.name, 'user.name'),
    roles: array(user.roles, 'user.roles').map((role) => string(role, 'user.roles[]')),
    session: int32(user.session, 'user.session'),
  });
}

export function userFromGoval(user: User): GovalUser {
  return { id: user.id, name: user.name, roles: [...user.roles], session: user.session };
}

export function fileTypeToGoval(value: unknown): File_Type {
  if (value === 'file') return File_Type.REGULAR;
  if (value === 'directory') return File_Type.DIRECTORY;
  throw new TypeError(`goval: file type must be "file" or "directory"`);
}

export function fileTypeFromGoval(type: File_Type): 'file' | 'directory' {
  return type === File_Type.DIRECTORY ? 'directory' : 'file';
}

export function fileToGoval(value: unknown): File {
  const file = record(value, 'file');
  return create(FileSchema, { path: string(file.path, 'file.path'), type: fileTypeToGoval(file.type) });
}

/** Standard base64 of bytes, without Node's Buffer (the wire runs in browsers too). */
export function toBase64(bytes: Uint8Array): string {
  let binary = '';
  for (let at = 0; at < bytes.length; at += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(at, at + 0x8000));
  }
  return btoa(binary);
}

/** Bytes of a standard base64 string; throws a TypeError on anything else. */
export function fromBase64(value: string): Uint8Array {
  let binary: string;
  try {
    binary = atob(value);
  } catch {
    throw new TypeError('goval: content must be base64');
  }
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** An int64 field (protobuf-es carries them as bigint). */
export function int64(value: unknown, what: string): bigint {
  if (!Number.isSafeInteger(value)) throw new TypeError(`goval: ${what} must be an integer`);
  return BigInt(value as number);
}

/** goval's `ok`: the reply to a request whose answer is only "done". */
export function okBody(): BodyInit {
  return { case: 'ok', value: create(OKSchema) };
}
