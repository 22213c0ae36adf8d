/** Wire shapes of the Spaces API as Plaza serves it. Unknown fields are kept. */

export type Id = string;
export type UserKind = 'user' | 'anonymous' | 'service';
export type Role = 'admin' | 'member' | 'guest';
export type SpaceType = 'group' | 'direct' | 'personal';
export type MessageCategory = 'chat' | 'idea' | 'task' | 'meeting';

export interface User {
  _id: Id;
  username: string;
  displayname: string;
  picture_url?: string;
  type: UserKind;
  aType?: UserKind;
  permissions?: string[];
  isServerAdmin?: boolean;
  [key: string]: unknown;
}

/** Register and login answers. */
export interface IssuedToken {
  token: string;
  tokenType: 'jwt';
  expires?: string;
  user: User;
}

export interface Member {
  member: Id;
  memberType: 'userId' | 'anonymousId';
  role: Role;
  joinTime?: string;
  username: string;
  displayname: string;
  picture_url?: string;
  [key: string]: unknown;
}

export interface SpaceSettings {
  confPin?: string | null;
  memberOnly?: boolean;
  confId?: string;
  [key: string]: unknown;
}

export interface LastMessage {
  _id: Id;
  category: MessageCategory;
  content: { bodyText?: string; description?: string; created?: string; modified?: string; sender?: Sender };
}

/** A space (topic) object, with the caller's own fields when they are a member. */
export interface Space {
  _id: Id;
  cid?: Id;
  title?: string;
  description?: string;
  type?: SpaceType;
  /** 0 active, 1 archived, 2 deleted. */
  status: number;
  settings?: SpaceSettings;
  /** Restrictions, e.g. `deny_guest_access_history_msg`: guests read only what came after they joined. */
  restrict?: string[];
  members?: Member[];
  created?: string;
  modified?: string;
  role?: Role;
  isPinned?: boolean;
  notification?: boolean | null;
  unreadMessagesCount?: number;
  messagesLastReadTime?: string;
  lastAccess?: string;
  lastUpdateTime?: string;
  lastMessage?: LastMessage | null;
  [key: string]: unknown;
}

export interface Sender {
  _id: Id;
  type: UserKind | 'spaceserver';
  username?: string;
  displayname?: string;
  picture_url?: string | null;
}

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

export interface Message {
  _id: Id;
  category: MessageCategory | string;
  topicId: Id;
  topicTitle?: string;
  topicType?: SpaceType;
  sender: Sender;
  content: MessageContent;
  parentMsg?: { _id: Id } | null;
  chatCount?: number;
  deleted?: boolean;
  created: string;
  modified: string;
  loopbackMetadata?: unknown;
  [key: string]: unknown;
}

/** A list answer: `{data, total, nextPageUrl, previousPageUrl}`. */
export interface Page<T> {
  data: T[];
  total?: number;
  nextPageUrl?: string;
  previousPageUrl?: string;
  [key: string]: unknown;
}

export interface Invitee {
  inviteeType: 'userId' | 'email';
  invitee: string;
  role?: Role;
}

export interface InviteOutcome {
  topicId: Id;
  inviteeType: 'userId' | 'email';
  invitee: string;
  role: Role;
  status: 'added' | 'pending';
  inviteId?: Id;
  joinUrl?: string;
  /** Pending email invitations: whether the server emailed the link. */
  mailSent?: boolean;
  /** Why no email went out, when `mailSent` is false. */
  mailError?: string;
}

/** `/api/users/me/settings`: the caller's preferences plus `_id` and `modified`. */
export interface UserSettings {
  _id?: Id;
  modified?: string;
  /** Email a digest of missed mentions and direct messages (true when absent). */
  emailDigest?: boolean;
  [key: string]: unknown;
}

export interface UploadedFile {
  fileKey: string;
  contentType: string;
  contentLength: number;
  thumbnailFile?: string | null;
}

export interface DownloadUrl {
  fileKey: string;
  url: string;
  contentType: string;
  contentLength: number;
  name?: string | null;
  thumbnailFile?: string | null;
}

export interface MeetingAttendee extends Sender {
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
}

/** A meeting object (`/activemeeting`, `/meetings`): the message envelope. */
export interface Meeting {
  _id: Id;
  category: string;
  topicId: Id;
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
  created?: string;
  modified?: string;
}

/** `PRESENCE_EVENT_RESPONSE` and `SEND_PRESENCE_EVENT`. */
export interface PresenceEvent {
  category: string;
  topicId: Id;
  sender?: Sender;
  content?: Record<string, unknown>;
  receivers?: ({ _id: Id; type?: string } | Id)[];
  [key: string]: unknown;
}

/** `MEDIA_SESSION_RESPONSE`. */
export interface MediaEvent {
  _id?: Id;
  messageId?: Id;
  topicId: Id;
  category: string;
  sender?: Sender;
  content?: Record<string, unknown>;
  loopbackMetadata?: unknown;
  [key: string]: unknown;
}
