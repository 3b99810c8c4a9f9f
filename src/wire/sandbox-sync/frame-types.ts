/**
 * The discriminant of every sync frame (`type`), as agent-sandbox's `pkg/api/protocol` names them,
 * grouped by direction. The Worker is the WebSocket server, yet it is the Worker that sends
 * requests: the ws-proxy dials in, then answers requests and pushes state.
 */

/** ws-proxy → Worker: API key pushes. */
export const KEY_PUSHES = ['key_sync', 'key_delete_sync', 'key_snapshot'] as const;
/** ws-proxy → Worker: answers to API key requests. */
export const KEY_RESPONSES = ['key_create_resp', 'key_delete_resp'] as const;
/** Worker → ws-proxy: API key requests. */
export const KEY_REQUESTS = ['key_create', 'key_delete'] as const;
/** ws-proxy → Worker: SandboxTemplate pushes. */
export const TEMPLATE_PUSHES = ['template_snapshot', 'template_sync', 'template_delete_sync'] as const;
/** ws-proxy → Worker: answers to SandboxTemplate requests. */
export const TEMPLATE_RESPONSES = [
  'template_create_resp',
  'template_update_resp',
  'template_delete_resp',
] as const;
/** Worker → ws-proxy: SandboxTemplate requests. */
export const TEMPLATE_REQUESTS = ['template_create', 'template_update', 'template_delete'] as const;
/** ws-proxy → Worker: the cluster list and host aliases (`snapshot` on connect, `sync` on change). */
export const CLUSTER_CONFIG_PUSHES = ['cluster_config_snapshot', 'cluster_config_sync'] as const;

/** Every frame type, in the order the origin declares them. */
export const FRAME_TYPES = [
  ...KEY_PUSHES,
  ...KEY_RESPONSES,
  ...KEY_REQUESTS,
  ...TEMPLATE_PUSHES,
  ...TEMPLATE_RESPONSES,
  ...TEMPLATE_REQUESTS,
  ...CLUSTER_CONFIG_PUSHES,
] as const;

/** The `type` of a sync frame. */
export type FrameType = (typeof FRAME_TYPES)[number];
/** A frame type the Worker sends and waits an answer for. */
export type RequestType = (typeof KEY_REQUESTS)[number] | (typeof TEMPLATE_REQUESTS)[number];
/** A frame type that answers a request; it echoes the request's `id`. */
export type ResponseType = (typeof KEY_RESPONSES)[number] | (typeof TEMPLATE_RESPONSES)[number];
/** A frame type the ws-proxy pushes without being asked. */
export type PushType =
  | (typeof KEY_PUSHES)[number]
  | (typeof TEMPLATE_PUSHES)[number]
  | (typeof CLUSTER_CONFIG_PUSHES)[number];

const known: ReadonlySet<string> = new Set(FRAME_TYPES);
const requests: ReadonlySet<string> = new Set([...KEY_REQUESTS, ...TEMPLATE_REQUESTS]);
const responses: ReadonlySet<string> = new Set([...KEY_RESPONSES, ...TEMPLATE_RESPONSES]);

/** Whether `type` is one of the protocol's frame types. */
export function isFrameType(type: string): type is FrameType {
  return known.has(type);
}

/** Whether `type` is a Worker → ws-proxy request. */
export function isRequestType(type: string): type is RequestType {
  return requests.has(type);
}

/** Whether `type` is a ws-proxy → Worker response. */
export function isResponseType(type: string): type is ResponseType {
  return responses.has(type);
}

/** The response type that answers a request: `key_create` → `key_create_resp`. */
export function responseTypeOf(request: RequestType): ResponseType {
  return `${request}_resp`;
}
