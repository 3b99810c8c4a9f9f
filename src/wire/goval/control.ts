import { create } from '@bufbuild/protobuf';
import type { CloseAction, OpenAction } from '../message.js';
import type { BodyInit } from './codec.js';
import {
  BootStatus_Stage,
  BootStatusSchema,
  CloseChannel_Action,
  CloseChannelRes_Status,
  CloseChannelResSchema,
  ContainerState_State,
  ContainerStateSchema,
  OpenChannel_Action,
  OpenChannelRes_State,
  OpenChannelResSchema,
  PongSchema,
  RedirectSchema,
  ToastSchema,
} from './gen/api_pb.js';

/** The control channel: opening and closing channels, container state, redirects and toasts travel on it. */
export const CONTROL_CHANNEL = 0;

const OPEN_ACTIONS: Readonly<Record<number, OpenAction>> = {
  [OpenChannel_Action.CREATE]: 'create',
  [OpenChannel_Action.ATTACH]: 'attach',
  [OpenChannel_Action.ATTACH_OR_CREATE]: 'attachOrCreate',
};

const CLOSE_ACTIONS: Readonly<Record<number, CloseAction>> = {
  [CloseChannel_Action.DISCONNECT]: 'disconnect',
  [CloseChannel_Action.TRY_CLOSE]: 'tryClose',
  [CloseChannel_Action.CLOSE]: 'close',
};

const CLOSE_STATUSES: Readonly<Record<'disconnect' | 'close' | 'nothing', CloseChannelRes_Status>> = {
  disconnect: CloseChannelRes_Status.DISCONNECT,
  close: CloseChannelRes_Status.CLOSE,
  nothing: CloseChannelRes_Status.NOTHING,
};

/** goval's OpenChannel.Action as ours; undefined for a value the seed does not define. */
export function openActionFromGoval(action: OpenChannel_Action): OpenAction | undefined {
  return OPEN_ACTIONS[action];
}

/** goval's CloseChannel.Action as ours; undefined for a value the seed does not define. */
export function closeActionFromGoval(action: CloseChannel_Action): CloseAction | undefined {
  return CLOSE_ACTIONS[action];
}

/** `containerState{state: READY}`: what a goval client waits for before it opens any channel. */
export function readyBody(): BodyInit {
  return {
    case: 'containerState',
    value: create(ContainerStateSchema, { state: ContainerState_State.READY }),
  };
}

/** `openChanRes` for a channel that opened. */
export function openedBody(channel: number, state: 'created' | 'attached'): BodyInit {
  return {
    case: 'openChanRes',
    value: create(OpenChannelResSchema, {
      id: channel,
      state: state === 'created' ? OpenChannelRes_State.CREATED : OpenChannelRes_State.ATTACHED,
    }),
  };
}

/** `openChanRes{state: ERROR}`: the open failed (goval clients treat it as unrecoverable). */
export function openFailedBody(error: string): BodyInit {
  return {
    case: 'openChanRes',
    value: create(OpenChannelResSchema, { state: OpenChannelRes_State.ERROR, error }),
  };
}

/** `closeChanRes`: what closing a channel did. */
export function closedBody(channel: number, status: 'disconnect' | 'close' | 'nothing'): BodyInit {
  return {
    case: 'closeChanRes',
    value: create(CloseChannelResSchema, { id: channel, status: CLOSE_STATUSES[status] }),
  };
}

/** `redirect{url}`: reconnect through another URL (an empty one: start the negotiation over). */
export function redirectBody(url: string): BodyInit {
  return { case: 'redirect', value: create(RedirectSchema, { url }) };
}

/** `toast{text}`: a notice for the user. */
export function toastBody(text: string): BodyInit {
  return { case: 'toast', value: create(ToastSchema, { text }) };
}

/** `pong{}`: goval's pings carry nothing, and neither do pongs. */
export function pongBody(): BodyInit {
  return { case: 'pong', value: create(PongSchema) };
}

/** goval's boot stages, for {@link bootStatusBody}. */
export { BootStatus_Stage as BootStage };

/** `bootStatus{stage, progress, total}`: progress while the container starts (crosis shows it). */
export function bootStatusBody(stage: BootStatus_Stage, progress = 0, total = 0): BodyInit {
  return { case: 'bootStatus', value: create(BootStatusSchema, { stage, progress, total }) };
}
