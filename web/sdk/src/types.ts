/**
 * Wire shapes of the Spaces API as Plaza serves it. Unknown fields are kept.
 *
 * The shapes come from the server: `openapi.generated.ts` is generated from the OpenAPI
 * document it serves (`sdk/openapi.json`, see web/README.md), which is derived from the
 * `plaza-wire` crate's types. This file gives them the SDK's names and narrows only the
 * open objects the server carries through unread (message `content`, space `settings`,
 * meeting `content`), where the SDK and the app read known fields.
 */

import type { components } from './openapi.generated';

/** Every schema of the server's OpenAPI document. */
export type WireSchemas = components['schemas'];
type W = WireSchemas;
/** The server may add fields; they are kept. */
type Open = { [key: string]: unknown };

export type Id = string;
export type UserKind = W['UserType'];
export type Role = W['MemberRole'];
export type SpaceType = W['SpaceType'];
/** The stored categories; server records and events carry others. */
export type MessageCategory = 'chat' | 'idea' | 'task' | 'meeting';

export type User = W['User'] & Open;

/** Register and login answers. */
export type IssuedToken = Omit<W['IssuedToken'], 'user'> & { user: User };

export type Member = Omit<W['Member'], 'memberType'> & { memberType: 'userId' | 'anonymousId' } & Open;

/**
 * Who sent a message or event. `username` and `displayname` are there on messages and
 * meeting events; `topic.updated` carries only `{_id, type}` (`UserRef`).
 */
export type Sender = Pick<W['Sender'], '_id' | 'type'> & Partial<Omit<W['Sender'], '_id' | 'type'>>;

export interface SpaceSettings {
  confPin?: string | null;
  memberOnly?: boolean;
  confId?: string;
  [key: string]: unknown;
}

export type LastMessage = Omit<W['LastMessage'], 'category' | 'content'> & {
  category: MessageCategory;
  /** `bodyText` and `description` are stored content: any JSON on the wire, text from clients. */
  content: Omit<W['LastMessageContent'], 'sender' | 'bodyText' | 'description'> & {
    bodyText?: string | null;
    description?: string | null;
    sender?: Sender;
  };
};

/**
 * A space (topic) object, with the caller's own fields when they are a member. One type
 * for every shape the server answers: the whole space (`Space`), a non-member's preview
 * (`SpacePreview`) and a deleted listing entry (`RemovedSpace`), so only `_id` and
 * `status` are always there.
 */
export type Space = Pick<W['Space'], '_id' | 'status'> &
  Partial<Omit<W['Space'], '_id' | 'status' | 'settings' | 'members'>> & {
    settings?: SpaceSettings;
    members?: Member[];
    /** True on a non-member's preview. */
    preview?: boolean;
  } & Open;

/** A native attachment (`content.data[]`). */
export interface Attachment {
  fileId: string;
  fileSize?: number;
  fileType?: 'image' | 'video' | 'audio' | 'document' | string;
  name?: string;
  provider?: string;
  providerFileType?: string;
  thumbnailFile?: string;
  /** `/api/files/{key}` (absolute in REST answers). */
  path?: string;
  thumbnailPath?: string;
  [key: string]: unknown;
}

export interface Mention {
  id: Id;
  type: string;
  title: string;
}

/** A message's `content`: an open object on the wire; these are the fields clients read. */
export interface MessageContent {
  bodyText?: string;
  description?: string;
  data?: Attachment[];
  assignees?: { _id: Id }[];
  dueDate?: string | null;
  status?: 'pending' | 'completed' | string;
  mentions?: Mention[];
  [key: string]: unknown;
}

export type Message = Omit<W['Message'], 'content' | 'category' | 'sender'> & {
  category: MessageCategory | string;
  sender: Sender;
  content: MessageContent;
} & Open;

/** A list answer: `{data, total, nextPageUrl, previousPageUrl}`. */
export interface Page<T> {
  data: T[];
  total?: number;
  nextPageUrl?: string;
  previousPageUrl?: string;
  [key: string]: unknown;
}

/** An invitee in a request (`invitees[]`). */
export interface Invitee {
  inviteeType: 'userId' | 'email';
  invitee: string;
  role?: Role;
}

export type InviteOutcome = Omit<W['InviteOutcome'], 'inviteeType' | 'status'> & {
  inviteeType: 'userId' | 'email';
  status: 'added' | 'pending';
};

/** `/api/users/me/settings`: the caller's preferences plus `_id` and `modified`. */
export type UserSettings = Partial<W['Settings']> & {
  /** Email a digest of missed mentions and direct messages (true when absent). */
  emailDigest?: boolean;
} & Open;

export type UploadedFile = W['UploadedFile'];

export type DownloadUrl = W['DownloadUrl'];

export interface MeetingAttendee extends Partial<Sender> {
  _id: Id;
  joinTime?: string;
  leftTime?: string | null;
  mediaSession?: { audio?: boolean; video?: boolean; screenshare?: boolean; connected?: boolean; [key: string]: unknown };
  raisedHand?: { requestedPermissions: string[]; time: string } | null;
  grantedPermissions?: string[];
}

export interface Recording {
  _id: Id;
  startedBy?: Sender;
  startTime: string;
  endTime?: string | null;
  status: 'started' | 'ended' | 'ready' | string;
  duration?: number | null;
  /** Once ready: a WebM file per person's audio, camera and screen share (`providerFileType`, `duration` in ms, `userId`). */
  data?: Attachment[];
}

/** A meeting object (`/activemeeting`, `/meetings`): the message envelope. */
export type Meeting = Omit<W['Meeting'], 'content'> & {
  content: {
    startTime?: string;
    endTime?: string | null;
    mediaMode?: string;
    meetingStatus?: 'active' | 'inactive';
    attendees: MeetingAttendee[];
    recordings: Recording[];
    layout?: { layout: string; backgroundTheme?: string | null } | null;
    [key: string]: unknown;
  };
};

/** `PRESENCE_EVENT_RESPONSE` (and, without `sender`, `SEND_PRESENCE_EVENT`). */
export type PresenceEvent = Omit<Partial<W['PresenceEvent']>, 'sender'> & {
  sender?: Sender;
  category: string;
  topicId: Id;
  content?: Record<string, unknown>;
  receivers?: ({ _id: Id; type?: string } | Id)[];
};

/** `GET /api/mediasessions/mpaas/token/{spaceId}`: what `MEDIA_JOIN` carries. */
export type MediaToken = W['MediaToken'];

/** `MEDIA_SESSION_RESPONSE`. */
export type MediaEvent = Omit<Partial<W['MediaEvent']>, 'sender'> & {
  sender?: Sender;
  topicId: Id;
  category: string;
  content?: Record<string, unknown>;
};
