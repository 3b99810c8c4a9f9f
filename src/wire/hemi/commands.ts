import type { Protocol } from '../../protocol/define.js';

/** The name Hemi gives the ping every API carries: `<api>-ping-request` / `<api>-ping-response`. */
export const PING_NAME = 'ping';

/** Suffixes Hemi puts after a command's name; every API uses the same three. */
export const SUFFIX = {
  request: '-request',
  response: '-response',
  notification: '-notification',
} as const;

/**
 * Our naming of a dotted Switchboard name in Hemi's style: segments joined with `-`, camelCase
 * split into lowercase words. Hemi has no dotted names, so this rule is ours.
 *
 * @example hemiName('btc.finalityByRecentKeystones') // 'btc-finality-by-recent-keystones'
 */
export function hemiName(dotted: string): string {
  return dotted
    .split('.')
    .map((segment) => segment.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase())
    .join('-');
}

/** How a protocol's commands and events are named on one Hemi API. */
export interface HemiCommandNames {
  /** The API prefix, e.g. `bfgapi`. */
  readonly api: string;
  /** Dotted command → `<api>-<name>-request`. */
  requestOf(command: string): string | undefined;
  /** Dotted command → `<api>-<name>-response`. */
  responseOf(command: string): string | undefined;
  /** Dotted event → `<api>-<name>-notification`. */
  notificationOf(event: string): string | undefined;
  /** `<api>-<name>-request` → dotted command, when the protocol declares one. */
  commandOf(request: string): string | undefined;
  /** The dotted command answering `<api>-ping-request`, when the protocol declares one. */
  readonly pingCommand: string | undefined;
  readonly pingRequest: string;
  readonly pingResponse: string;
}

/**
 * Names every command and event of `protocol` on the API `api`. `overrides` maps a dotted name to
 * the Hemi name to use instead of {@link hemiName} (without the API prefix or the suffix), e.g.
 * `{ 'finality.recent': 'btc-finality-by-recent-keystones' }`. Throws when two members end up with
 * the same Hemi name: that is a mistake in the definition, found when the server starts.
 */
export function hemiCommandNames(
  api: string,
  protocol: Protocol,
  overrides: Readonly<Record<string, string>> = {},
): HemiCommandNames {
  if (!/^[a-z0-9][a-z0-9-]*$/.test(api)) {
    throw new Error(`Hemi API prefix ${JSON.stringify(api)} must be lowercase letters, digits and dashes`);
  }
  const nameOf = (dotted: string) => overrides[dotted] ?? hemiName(dotted);
  const requests = new Map<string, string>();
  const byRequest = new Map<string, string>();
  for (const dotted of protocol.commands.keys()) {
    const request = `${api}-${nameOf(dotted)}${SUFFIX.request}`;
    const taken = byRequest.get(request);
    if (taken !== undefined) {
      throw new Error(`commands "${taken}" and "${dotted}" are both named ${request} on the Hemi wire`);
    }
    requests.set(dotted, request);
    byRequest.set(request, dotted);
  }
  const notifications = new Map<string, string>();
  const byNotification = new Map<string, string>();
  for (const dotted of protocol.events.keys()) {
    const notification = `${api}-${nameOf(dotted)}${SUFFIX.notification}`;
    const taken = byNotification.get(notification);
    if (taken !== undefined) {
      throw new Error(`events "${taken}" and "${dotted}" are both named ${notification} on the Hemi wire`);
    }
    notifications.set(dotted, notification);
    byNotification.set(notification, dotted);
  }
  const pingRequest = `${api}-${PING_NAME}${SUFFIX.request}`;
  return {
    api,
    requestOf: (command) => requests.get(command),
    responseOf: (command) => {
      const request = requests.get(command);
      return request === undefined ? undefined : request.slice(0, -SUFFIX.request.length) + SUFFIX.response;
    },
    notificationOf: (event) => notifications.get(event),
    commandOf: (request) => byRequest.get(request),
    pingCommand: byRequest.get(pingRequest),
    pingRequest,
    pingResponse: `${api}-${PING_NAME}${SUFFIX.response}`,
  };
}
