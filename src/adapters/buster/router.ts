import type { NamedMember, Protocol } from '../../protocol/define.js';
import { type RouteEntry, type RouteNaming, routeResource, routeTable } from '../../wire/buster/routes.js';

/** A route bound to its command definition and handler. */
export interface BoundRoute extends RouteEntry {
  readonly def: NamedMember;
  readonly permissions: readonly string[];
  readonly handler: (input: unknown, ctx: any) => unknown;
}

/** Buster's router per resource (`sql_router`, `threads_router`…): its routes by full path. */
export interface ResourceRouter {
  readonly resource: string;
  readonly routes: ReadonlyMap<string, BoundRoute>;
}

/**
 * Buster's `ws_router`: the first segment picks the resource router, the full path the route.
 * Built once per server; throws a TypeError for a command without a handler or a route clash.
 */
export class WsRouter {
  readonly resources: ReadonlyMap<string, ResourceRouter>;

  constructor(protocol: Protocol, handlers: object, naming: RouteNaming = {}) {
    const resources = new Map<string, ResourceRouter>();
    for (const [resource, entries] of routeTable(protocol, naming)) {
      const routes = new Map<string, BoundRoute>();
      for (const [route, entry] of entries) {
        const def = protocol.commands.get(entry.command) as NamedMember;
        const [group, member] = splitName(entry.command);
        const handler = (handlers as Record<string, Record<string, unknown> | undefined>)[group]?.[member];
        if (typeof handler !== 'function') throw new TypeError(`no handler for command "${entry.command}"`);
        const permission = def.permission;
        const permissions =
          permission === undefined ? [] : typeof permission === 'string' ? [permission] : [...permission];
        routes.set(route, { ...entry, def, permissions, handler: handler as BoundRoute['handler'] });
      }
      resources.set(resource, { resource, routes });
    }
    this.resources = resources;
  }

  /** The route a request names, or undefined (Buster logs an unknown route and answers nothing). */
  find(route: string): BoundRoute | undefined {
    const resource = routeResource(route);
    return resource === undefined ? undefined : this.resources.get(resource)?.routes.get(route);
  }
}

function splitName(command: string): [string, string] {
  const dot = command.indexOf('.');
  return [command.slice(0, dot), command.slice(dot + 1)];
}
