import type { Protocol } from '../../protocol/define.js';

/**
 * How a Switchboard protocol's names become Buster routes and events (ours; Buster writes each
 * enum by hand). A command `resource.member` is the route `/<resource>/<member split at capitals>`:
 *
 * | command                 | route                     | response event        |
 * | ----------------------- | ------------------------- | --------------------- |
 * | `sql.run`               | `/sql/run`                | `runSql`              |
 * | `chats.list`            | `/chats/list`             | `listChats`           |
 * | `chats.messagesUpdate`  | `/chats/messages/update`  | `updateChatsMessages` |
 * | `data_sources.post`     | `/data_sources/post`      | `postDataSources`     |
 *
 * The response event is the route's last segment followed by the others, camelCased, which gives
 * Buster's own `runSql` for `/sql/run`. A protocol event `threads.joinedThread` is sent as
 * `joinedThread`. Both can be overridden per name.
 */

/** One segment of a route: lower-case start, then lower-case letters, digits or `_`. */
const SEGMENT = /^[a-z][a-z0-9_]*$/;

/** The route of a dotted command name. @example commandRoute('chats.messagesUpdate') // '/chats/messages/update' */
export function commandRoute(command: string): string {
  const dot = command.indexOf('.');
  const resource = command.slice(0, dot);
  const member = command.slice(dot + 1);
  return `/${resource}/${splitCamel(member).join('/')}`;
}

/**
 * The dotted command name of a route, or undefined when the route is not shaped like one
 * (it does not start with `/`, has fewer than two segments, or a segment is not `[a-z][a-z0-9_]*`).
 *
 * @example routeCommand('/chats/messages/update') // 'chats.messagesUpdate'
 */
export function routeCommand(route: string): string | undefined {
  if (!route.startsWith('/')) return undefined;
  const segments = route.slice(1).split('/');
  if (segments.length < 2 || !segments.every((segment) => SEGMENT.test(segment))) return undefined;
  const [resource, first, ...rest] = segments as [string, string, ...string[]];
  return `${resource}.${first}${rest.map(capitalise).join('')}`;
}

/** The resource a route belongs to: its first segment, as Buster's `WsRoutes::from_str` reads it. */
export function routeResource(route: string): string | undefined {
  if (!route.startsWith('/')) return undefined;
  const resource = route.slice(1).split('/')[0];
  return resource ? resource : undefined;
}

/** The event a command's response carries. @example responseEvent('sql.run') // 'runSql' */
export function responseEvent(command: string): string {
  const segments = commandRoute(command).slice(1).split('/');
  const verb = segments.pop() as string;
  return camel([verb, ...segments]);
}

/** The event name a protocol event is sent as: its member name. @example protocolEvent('threads.joinedThread') // 'joinedThread' */
export function protocolEvent(event: string): string {
  return event.slice(event.indexOf('.') + 1);
}

/** A route a client can call: which command it runs and which event its responses carry. */
export interface RouteEntry {
  readonly route: string;
  readonly command: string;
  readonly event: string;
}

/** Names chosen by hand where the rule above does not give Buster's (both keyed by dotted name). */
export interface RouteNaming {
  /** E.g. `{ 'threads.getState': '/threads/get' }`. */
  readonly routes?: Readonly<Record<string, string>>;
  /** E.g. `{ 'threads.getState': 'getThreadState' }`. */
  readonly events?: Readonly<Record<string, string>>;
}

/**
 * Every command of a protocol as a route, grouped per resource (Buster's router per resource):
 * resource → route → entry. Throws a TypeError when two commands share a route, or when a
 * command's derived route does not read back as that command (e.g. `getHTML`) and has no override.
 */
export function routeTable(
  protocol: Protocol,
  naming: RouteNaming = {},
): ReadonlyMap<string, ReadonlyMap<string, RouteEntry>> {
  const table = new Map<string, Map<string, RouteEntry>>();
  const seen = new Map<string, string>();
  for (const command of protocol.commands.keys()) {
    const explicit = naming.routes?.[command];
    const route = explicit ?? commandRoute(command);
    if (explicit === undefined && routeCommand(route) !== command) {
      throw new TypeError(
        `command "${command}" gives route "${route}", which does not read back; name its route in naming.routes`,
      );
    }
    const resource = routeResource(route);
    if (!resource)
      throw new TypeError(`route "${route}" of command "${command}" must start with /<resource>`);
    const holder = seen.get(route);
    if (holder) throw new TypeError(`route "${route}" is used by both "${holder}" and "${command}"`);
    seen.set(route, command);
    const entries = table.get(resource) ?? new Map<string, RouteEntry>();
    table.set(resource, entries);
    entries.set(route, { route, command, event: naming.events?.[command] ?? responseEvent(command) });
  }
  return table;
}

function splitCamel(member: string): string[] {
  return member.split(/(?=[A-Z])/).map((part) => part.toLowerCase());
}

function capitalise(word: string): string {
  return word.charAt(0).toUpperCase() + word.slice(1);
}

/** `['update', 'data_sources']` → `updateDataSources`. */
function camel(words: readonly string[]): string {
  const parts = words.flatMap((word) => word.split('_')).filter(Boolean);
  return parts.map((part, i) => (i === 0 ? part : capitalise(part))).join('');
}
