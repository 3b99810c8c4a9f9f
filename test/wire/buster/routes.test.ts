import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { z } from 'zod';
import { command, defineProtocol } from '../../../src/protocol/index.js';
import {
  commandRoute,
  protocolEvent,
  responseEvent,
  routeCommand,
  routeResource,
  routeTable,
  toWsErrorCode,
  WS_ERROR_CODES,
} from '../../../src/wire/buster/index.js';

const any = command({ input: z.unknown(), output: z.unknown() });

describe('route naming', () => {
  test.each([
    ['sql.run', '/sql/run', 'runSql'],
    ['chats.list', '/chats/list', 'listChats'],
    ['chats.messagesUpdate', '/chats/messages/update', 'updateChatsMessages'],
    ['chats.messagesData', '/chats/messages/data', 'dataChatsMessages'],
    ['data_sources.post', '/data_sources/post', 'postDataSources'],
    ['threads.list_all', '/threads/list_all', 'listAllThreads'],
  ])('%s is the route %s answered with event %s', (name, route, event) => {
    expect(commandRoute(name)).toBe(route);
    expect(routeCommand(route)).toBe(name);
    expect(responseEvent(name)).toBe(event);
  });

  test('a protocol event is sent under its member name', () => {
    expect(protocolEvent('threads.joinedThread')).toBe('joinedThread');
  });

  test.each(['sql/run', '/sql', '/', '/Sql/run', '/sql/Run', '/sql//run', '/sql/run/', '/sql/1run'])(
    '%s is not a command route',
    (route) => {
      expect(routeCommand(route)).toBeUndefined();
    },
  );

  test('the resource is the first segment', () => {
    expect(routeResource('/chats/messages/update')).toBe('chats');
    expect(routeResource('chats/list')).toBeUndefined();
    expect(routeResource('/')).toBeUndefined();
  });

  test('every route read back gives the route again', () => {
    const segment = fc.stringMatching(/^[a-z][a-z0-9_]{0,8}$/);
    fc.assert(
      fc.property(fc.array(segment, { minLength: 2, maxLength: 5 }), (segments) => {
        const route = `/${segments.join('/')}`;
        const name = routeCommand(route);
        expect(name).toBeDefined();
        expect(commandRoute(name as string)).toBe(route);
      }),
    );
  });
});

describe('routeTable', () => {
  test('groups the routes of a protocol per resource, with overrides', () => {
    const protocol = defineProtocol({
      name: 'buster',
      version: '1.0.0',
      resources: {
        sql: { commands: { run: any } },
        chats: { commands: { list: any, messagesUpdate: any } },
        threads: { commands: { getState: any } },
      },
    });
    const table = routeTable(protocol, {
      routes: { 'threads.getState': '/threads/get' },
      events: { 'threads.getState': 'getThreadState' },
    });
    expect([...table.keys()]).toEqual(['sql', 'chats', 'threads']);
    expect([...(table.get('chats')?.values() ?? [])]).toEqual([
      { route: '/chats/list', command: 'chats.list', event: 'listChats' },
      { route: '/chats/messages/update', command: 'chats.messagesUpdate', event: 'updateChatsMessages' },
    ]);
    expect(table.get('threads')?.get('/threads/get')).toEqual({
      route: '/threads/get',
      command: 'threads.getState',
      event: 'getThreadState',
    });
  });

  test('refuses a member whose route does not read back', () => {
    const protocol = defineProtocol({
      name: 'p',
      version: '1.0.0',
      resources: { pages: { commands: { Get: any } } },
    });
    expect(() => routeTable(protocol)).toThrow(
      'command "pages.Get" gives route "/pages/get", which does not read back; name its route in naming.routes',
    );
  });

  test('refuses two commands on one route', () => {
    const protocol = defineProtocol({
      name: 'p',
      version: '1.0.0',
      resources: { chats: { commands: { list: any, all: any } } },
    });
    expect(() => routeTable(protocol, { routes: { 'chats.all': '/chats/list' } })).toThrow(
      'route "/chats/list" is used by both "chats.list" and "chats.all"',
    );
  });
});

describe('error codes', () => {
  test.each([
    ['INTERNAL', 'INTERNAL_SERVER_ERROR'],
    ['TIMEOUT', 'INTERNAL_SERVER_ERROR'],
    ['UNAVAILABLE', 'INTERNAL_SERVER_ERROR'],
    ['UNKNOWN_COMMAND', 'NOT_FOUND'],
    ['JOB_NOT_FOUND', 'NOT_FOUND'],
    ['PERMISSION_DENIED', 'UNAUTHORIZED'],
    ['UNAUTHENTICATED', 'UNAUTHORIZED'],
    ['THREAD_FORBIDDEN', 'UNAUTHORIZED'],
    ['INVALID_INPUT', 'BAD_REQUEST'],
    ['BAD_MESSAGE', 'BAD_REQUEST'],
    ['RATE_LIMITED', 'BAD_REQUEST'],
    ['DIVIDE_BY_ZERO', 'BAD_REQUEST'],
    ['NOT_FOUND', 'NOT_FOUND'],
    ['BAD_REQUEST', 'BAD_REQUEST'],
    ['UNAUTHORIZED', 'UNAUTHORIZED'],
    ['INTERNAL_SERVER_ERROR', 'INTERNAL_SERVER_ERROR'],
  ])('%s maps to %s', (code, expected) => {
    expect(toWsErrorCode(code)).toBe(expected);
  });

  test('Buster has exactly four codes', () => {
    expect(Object.keys(WS_ERROR_CODES)).toEqual([
      'INTERNAL_SERVER_ERROR',
      'NOT_FOUND',
      'UNAUTHORIZED',
      'BAD_REQUEST',
    ]);
  });
});
