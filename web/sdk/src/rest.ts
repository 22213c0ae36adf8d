import { errorFromResponse, networkError, PlazaApiError } from './errors.js';
import { linkPath, Pager } from './paging.js';
import { defaultPut, fileKind, type ProgressListener, type PutTransport } from './upload.js';
import type {
  Attachment,
  DownloadUrl,
  Id,
  InviteOutcome,
  Invitee,
  IssuedToken,
  MediaToken,
  Meeting,
  Member,
  Message,
  MessageContent,
  Page,
  Role,
  Space,
  SpaceSettings,
  UploadedFile,
  User,
  UserSettings,
} from './types.js';

/** The `restrict` entry that keeps guests to what came after they joined. */
export const GUEST_HISTORY_CUT = 'deny_guest_access_history_msg';

export type TokenType = 'jwt' | 'bearer';
export type QueryValue = string | number | boolean | null | undefined;
export type Query = Record<string, QueryValue | QueryValue[]>;

export interface ClientOptions {
  /** Where Plaza is: `https://plaza.example.com`, or `''` for the page's own origin. */
  baseUrl?: string;
  token?: string | null;
  /** `jwt` for Plaza's own tokens (the default), `bearer` for OAuth access tokens. */
  tokenType?: TokenType;
  /** A fetch of your own (tests, instrumentation); the global one by default. */
  fetch?: typeof fetch;
  /** How upload bytes are sent; XMLHttpRequest in browsers by default. */
  put?: PutTransport;
  /** Called with every refusal before it is thrown (e.g. to log out on `auth.invalid_token`). */
  onError?: (error: PlazaApiError) => void;
}

export interface RequestOptions {
  query?: Query;
  body?: unknown;
  headers?: Record<string, string>;
  /** Send no Authorization header even when the client has a token. */
  anonymous?: boolean;
  signal?: AbortSignal;
}

/** A URL query string from `query`, leaving out absent values; arrays become comma lists. */
export function buildQuery(query: Query | undefined): string {
  if (!query) return '';
  const params = new URLSearchParams();
  for (const [key, raw] of Object.entries(query)) {
    const value = Array.isArray(raw) ? raw.filter((v) => v !== undefined && v !== null && v !== '').join(',') : raw;
    if (value === undefined || value === null || value === '') continue;
    params.append(key, String(value));
  }
  const text = params.toString();
  return text ? `?${text}` : '';
}

/** The header carrying a space's PIN. */
export const PIN_HEADER = 'spaces-x-space-password';

function pinHeaders(pin?: string | null): Record<string, string> {
  return pin ? { [PIN_HEADER]: pin } : {};
}

export interface SpaceListParams {
  /** A case-insensitive regular expression matched against titles (and DM names). */
  search?: string;
  /** `group`, `direct`, `personal`, `all`, or a list of them. Plaza's default is `group`. */
  topictype?: string | string[];
  /** `0` active (default), `1` archived, `2` deleted, `all`. */
  topicstatus?: '0' | '1' | '2' | 'all';
  pinned?: boolean;
  includedeleted?: boolean;
  size?: number;
  sortBy?: 'lastMessage.modified';
}

export interface HistoryParams {
  size?: number;
  /** `chat`, `idea`, `task`, `meeting`, or a list of them. */
  category?: string | string[];
  searchstring?: string;
  file_only?: boolean;
  chatmsg_only?: boolean;
  /** Only messages older than this id (the next page of a history). */
  nextRefObjId?: Id;
  /** Only messages newer than this id. */
  prevRefObjId?: Id;
}

export interface NewMessageOptions {
  /** Comment on this post or task. */
  parentMsg?: Id;
}

export interface NewTask {
  title: string;
  description?: string;
  assignees?: Id[];
  /** An ISO-8601 time or `YYYY-MM-DD`. */
  dueDate?: string | null;
  completed?: boolean;
  data?: Attachment[];
}

export interface UploadOptions {
  /** The space the file is meant for (the server may check quotas per space). */
  topicId?: Id;
  onProgress?: ProgressListener;
  signal?: AbortSignal;
  /** The name downloads carry; the File's own name by default. */
  name?: string;
}

/** An upload made: its key plus the attachment object a message carries. */
export interface Upload extends UploadedFile {
  attachment: Attachment;
}

export type Permission = 'PERMISSION_UNMUTE' | 'PERMISSION_VIDEO' | 'PERMISSION_SCREENSHARE';

/**
 * Typed REST calls to a Plaza server (the Spaces API). Every refusal is thrown as a
 * {@link PlazaApiError} carrying the server's `{code, message}`.
 */
export class PlazaClient {
  baseUrl: string;
  token: string | null;
  tokenType: TokenType;
  private readonly fetchImpl: typeof fetch;
  private readonly put: PutTransport;
  private readonly onError: ((error: PlazaApiError) => void) | undefined;

  constructor(options: ClientOptions = {}) {
    this.baseUrl = (options.baseUrl ?? '').replace(/\/+$/, '');
    this.token = options.token ?? null;
    this.tokenType = options.tokenType ?? 'jwt';
    this.fetchImpl = options.fetch ?? ((...args) => fetch(...args));
    this.put = options.put ?? defaultPut;
    this.onError = options.onError;
  }

  /** The value of the Authorization header, or null without a token. */
  authorization(): string | null {
    return this.token ? `${this.tokenType} ${this.token}` : null;
  }

  /** The full URL of a server path (or of a page link the server gave). */
  url(path: string, query?: Query): string {
    return this.baseUrl + linkPath(path) + buildQuery(query);
  }

  /** One call: JSON in, JSON out; a refusal throws {@link PlazaApiError}. */
  async request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json', ...options.headers };
    const auth = this.authorization();
    if (auth && !options.anonymous) headers.authorization = auth;
    let body: string | undefined;
    if (options.body !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(options.body);
    }
    let response: Response;
    try {
      response = await this.fetchImpl(this.url(path, options.query), {
        method,
        headers,
        ...(body !== undefined ? { body } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
      });
    } catch (cause) {
      throw this.fail(networkError(cause));
    }
    const text = await response.text();
    if (!response.ok) {
      throw this.fail(errorFromResponse(response.status, text, response.headers.get('x-request-id'), response.headers.get('retry-after')));
    }
    if (!text) return undefined as T;
    try {
      return JSON.parse(text) as T;
    } catch {
      throw this.fail(
        new PlazaApiError(response.status, { code: 'response.malformed', message: 'the server answered something that is not JSON' }),
      );
    }
  }

  private fail(error: PlazaApiError): PlazaApiError {
    this.onError?.(error);
    return error;
  }

  private get<T>(path: string, query?: Query, headers?: Record<string, string>): Promise<T> {
    return this.request<T>('GET', path, { ...(query ? { query } : {}), ...(headers ? { headers } : {}) });
  }

  private post<T>(path: string, body?: unknown, headers?: Record<string, string>): Promise<T> {
    return this.request<T>('POST', path, { body: body ?? {}, ...(headers ? { headers } : {}) });
  }

  /** A {@link Pager} whose first page is `path?query` and later ones follow `nextPageUrl`. */
  pager<T>(path: string, query?: Query): Pager<T> {
    return new Pager<T>(
      () => this.get<Page<T>>(path, query),
      (url) => this.get<Page<T>>(url),
    );
  }

  // ---- identity ----------------------------------------------------------------

  /** Creates an account and signs in (the token is kept for later calls). */
  async register(username: string, password: string, displayname?: string): Promise<IssuedToken> {
    const issued = await this.request<IssuedToken>('POST', '/api/auth/register', {
      body: { username, password, ...(displayname ? { displayname } : {}) },
      anonymous: true,
    });
    this.token = issued.token;
    this.tokenType = 'jwt';
    return issued;
  }

  async login(username: string, password: string): Promise<IssuedToken> {
    const issued = await this.request<IssuedToken>('POST', '/api/auth/login', { body: { username, password }, anonymous: true });
    this.token = issued.token;
    this.tokenType = 'jwt';
    return issued;
  }

  /** Revokes the current token on the server and forgets it. */
  async logout(): Promise<void> {
    try {
      if (this.token) await this.request<void>('POST', '/api/auth/logout');
    } finally {
      this.token = null;
    }
  }

  /** A 24-hour guest token for someone with only a display name. */
  async guest(displayname: string): Promise<string> {
    const { token } = await this.request<{ token: string }>('POST', '/api/anonymous/auth', {
      body: { displayname },
      anonymous: true,
    });
    this.token = token;
    this.tokenType = 'jwt';
    return token;
  }

  me(): Promise<User> {
    return this.get<User>('/api/users/me');
  }

  /**
   * Asks for a password-reset link by email. The answer is the same whether or not an
   * account has that address; `mail.not_configured` (403) when the server sends no email.
   */
  forgotPassword(username: string): Promise<{ mailSent: boolean }> {
    return this.request('POST', '/api/auth/password/forgot', { body: { username }, anonymous: true });
  }

  /** Sets a new password with the token of a reset link; `auth.reset_token_invalid` once used or expired. */
  resetPassword(token: string, password: string): Promise<{ passwordChanged: boolean }> {
    return this.request('POST', '/api/auth/password/reset', { body: { token, password }, anonymous: true });
  }

  /** The caller's settings (the server's defaults for fields never set). */
  async settings(): Promise<UserSettings> {
    const answer = await this.get<{ data: UserSettings[] | UserSettings }>('/api/users/me/settings');
    const data = Array.isArray(answer.data) ? answer.data[0] : answer.data;
    return data ?? {};
  }

  /** Changes only the settings given. */
  async updateSettings(changes: Partial<UserSettings>): Promise<UserSettings> {
    const answer = await this.post<{ data: UserSettings }>('/api/users/me/settings', changes);
    return answer.data;
  }

  // ---- spaces ------------------------------------------------------------------

  /** The caller's spaces, most recent activity first, paged by cursor. */
  spaces(params: SpaceListParams = {}): Pager<Space> {
    return this.pager<Space>('/api/users/me/spaces', spaceListQuery(params));
  }

  space(spaceId: Id, pin?: string | null): Promise<Space> {
    return this.get<Space>(`/api/spaces/${enc(spaceId)}`, undefined, pinHeaders(pin));
  }

  /** Creates a group space (the caller is its admin), inviting people at once. */
  async createSpace(
    title: string,
    options: { description?: string; invitees?: Invitee[] } = {},
  ): Promise<{ space: Space; invites: InviteOutcome[] }> {
    const answer = await this.post<{ data: [{ topicId: Id; topic: Space }, ...InviteOutcome[]] }>('/api/spaces/invite', {
      topic: { title, type: 'group', ...(options.description ? { description: options.description } : {}) },
      invitees: options.invitees ?? [],
    });
    const [first, ...invites] = answer.data;
    return { space: first.topic, invites };
  }

  /** Joins by link: as a guest unless already a member; `pin` when the space has one. */
  async join(spaceId: Id, pin?: string | null): Promise<Space> {
    const answer = await this.get<{ topic: Space }>(`/api/spaces/${enc(spaceId)}/join`, undefined, pinHeaders(pin));
    return answer.topic;
  }

  async acceptInvitation(inviteId: Id, pin?: string | null): Promise<Space> {
    const answer = await this.get<{ topic: Space }>(`/api/spaces/invites/${enc(inviteId)}/join`, undefined, pinHeaders(pin));
    return answer.topic;
  }

  members(spaceId: Id, options: { search?: string; size?: number } = {}): Pager<Member> {
    return this.pager<Member>(`/api/spaces/${enc(spaceId)}/members`, { search: options.search, size: options.size });
  }

  async invite(spaceId: Id, invitees: Invitee[]): Promise<InviteOutcome[]> {
    const answer = await this.post<{ data: InviteOutcome[] }>(`/api/spaces/${enc(spaceId)}/invite`, { invitees });
    return answer.data;
  }

  inviteUser(spaceId: Id, userId: Id, role: Role = 'member'): Promise<InviteOutcome[]> {
    return this.invite(spaceId, [{ inviteeType: 'userId', invitee: userId, role }]);
  }

  inviteEmail(spaceId: Id, email: string, role: Role = 'member'): Promise<InviteOutcome[]> {
    return this.invite(spaceId, [{ inviteeType: 'email', invitee: email, role }]);
  }

  setRole(spaceId: Id, member: Pick<Member, 'member' | 'memberType'>, role: Role): Promise<{ attendee: Id; role: Role }> {
    return this.post(`/api/spaces/${enc(spaceId)}/attendees/${member.memberType}/${enc(member.member)}`, { role });
  }

  /** Removes someone (or, with one's own id, leaves). */
  removeMember(spaceId: Id, member: Pick<Member, 'member' | 'memberType'>): Promise<{ attendee: Id }> {
    return this.request('DELETE', `/api/spaces/${enc(spaceId)}/attendees/${member.memberType}/${enc(member.member)}`);
  }

  /** Admins change the title, description, settings (PIN: `settings.confPin`) or status. */
  updateSpace(
    spaceId: Id,
    changes: { title?: string; description?: string; settings?: SpaceSettings; status?: number; restrict?: string[] },
  ): Promise<Space> {
    return this.post<Space>(`/api/spaces/${enc(spaceId)}`, changes);
  }

  rename(spaceId: Id, title: string): Promise<Space> {
    return this.updateSpace(spaceId, { title });
  }

  /** Sets the PIN guests need, or clears it with `null`. */
  setPin(spaceId: Id, pin: string | null): Promise<Space> {
    return this.updateSpace(spaceId, { settings: { confPin: pin } });
  }

  /**
   * Whether guests read the history from before they joined (the space's `restrict`
   * loses or regains `deny_guest_access_history_msg`; other restrictions are kept).
   */
  setGuestHistory(space: Space, guestsReadEarlierHistory: boolean): Promise<Space> {
    const others = (space.restrict ?? []).filter((r) => r !== GUEST_HISTORY_CUT);
    return this.updateSpace(space._id, { restrict: guestsReadEarlierHistory ? others : [...others, GUEST_HISTORY_CUT] });
  }

  archive(spaceId: Id): Promise<Space> {
    return this.updateSpace(spaceId, { status: 1 });
  }

  unarchive(spaceId: Id): Promise<Space> {
    return this.updateSpace(spaceId, { status: 0 });
  }

  deleteSpace(spaceId: Id): Promise<{ _id: Id; status: number }> {
    return this.request('DELETE', `/api/spaces/${enc(spaceId)}`);
  }

  /** The direct space with a user, created on first use. */
  async direct(userId: Id, userType: 'user' | 'anonymous' = 'user'): Promise<Space> {
    const answer = await this.get<{ data: Space[] }>(`/api/spaces/direct/${userType}/${enc(userId)}`);
    const space = answer.data[0];
    if (!space) throw new PlazaApiError(500, { code: 'response.malformed', message: 'no direct space in the answer' });
    return space;
  }

  markRead(spaceId: Id): Promise<{ data: { topicId: Id; unreadMessagesCount: number } }> {
    return this.post(`/api/users/me/spaces/${enc(spaceId)}/markread`);
  }

  setPinned(spaceId: Id, pinned: boolean): Promise<{ data: { topicId: Id; isPinned: boolean } }> {
    return this.post(`/api/users/me/spaces/${enc(spaceId)}/preference`, { isPinned: pinned });
  }

  /** Mutes (`false`) or unmutes (`true`; `null` for the default) a space's notifications. */
  setNotification(spaceId: Id, notification: boolean | null): Promise<{ data: { topicId: Id; notification: boolean | null } }> {
    return this.post(`/api/users/me/topics/${enc(spaceId)}/preference`, { notification });
  }

  hide(spaceId: Id): Promise<unknown> {
    return this.post(`/api/users/me/spaces/${enc(spaceId)}/hide`);
  }

  /** People who share a space with the caller (for invitations and direct messages). */
  colleagues(search?: string, size = 20): Pager<User> {
    return this.pager<User>('/api/users/me/colleagues', { search, size });
  }

  // ---- messages ----------------------------------------------------------------

  /** A space's history, newest first; each `next()` reaches further back. */
  history(spaceId: Id, params: HistoryParams = {}): Pager<Message> {
    return this.pager<Message>(`/api/spaces/${enc(spaceId)}/messages/query`, historyQuery(params));
  }

  message(messageId: Id): Promise<Message> {
    return this.get<{ data: Message }>(`/api/messages/${enc(messageId)}`).then((a) => a.data);
  }

  async sendChat(spaceId: Id, content: MessageContent, options: NewMessageOptions = {}): Promise<Message> {
    const answer = await this.post<{ data: Message }>(`/api/spaces/${enc(spaceId)}/chats`, {
      content,
      ...(options.parentMsg ? { parentMsg: { _id: options.parentMsg } } : {}),
    });
    return answer.data;
  }

  /** A post: `title` is `bodyText`, `text` the `description`. */
  async createPost(spaceId: Id, title: string, text = '', data?: Attachment[]): Promise<Message> {
    const answer = await this.post<{ data: Message }>(`/api/spaces/${enc(spaceId)}/ideas`, {
      content: { bodyText: title, description: text, ...(data ? { data } : {}) },
    });
    return answer.data;
  }

  async createTask(spaceId: Id, task: NewTask): Promise<Message> {
    const answer = await this.post<{ data: Message }>(`/api/spaces/${enc(spaceId)}/tasks`, taskBody(task));
    return answer.data;
  }

  posts(spaceId: Id, params: HistoryParams = {}): Pager<Message> {
    return this.pager<Message>(`/api/spaces/${enc(spaceId)}/ideas`, historyQuery(params));
  }

  tasks(spaceId: Id, params: HistoryParams = {}): Pager<Message> {
    return this.pager<Message>(`/api/spaces/${enc(spaceId)}/tasks`, historyQuery(params));
  }

  /** Tasks assigned to the caller across spaces. */
  myTasks(status?: 'pending' | 'completed'): Pager<Message> {
    return this.pager<Message>('/api/users/me/tasks', { status });
  }

  /** Comments on a post (`idea`) or task, newest first. */
  comments(parent: Pick<Message, '_id' | 'category'>, size = 50): Pager<Message> {
    const kind = parent.category === 'task' ? 'tasks' : 'ideas';
    return this.pager<Message>(`/api/${kind}/${enc(parent._id)}/messages`, { size });
  }

  comment(parent: Pick<Message, '_id' | 'topicId'>, bodyText: string, extra: MessageContent = {}): Promise<Message> {
    return this.sendChat(parent.topicId, { ...extra, bodyText }, { parentMsg: parent._id });
  }

  /**
   * Changes the content fields given. With `modified` (what the caller last saw), an
   * edit that raced another is refused with `message.modified_concurrently`.
   */
  async editMessage(messageId: Id, content: MessageContent, modified?: string): Promise<Message> {
    const answer = await this.post<{ data: Message }>(`/api/messages/${enc(messageId)}`, {
      content,
      ...(modified ? { modified } : {}),
    });
    return answer.data;
  }

  setTaskStatus(task: Pick<Message, '_id'>, status: 'pending' | 'completed'): Promise<Message> {
    return this.editMessage(task._id, { status });
  }

  async deleteMessage(messageId: Id): Promise<Message> {
    const answer = await this.request<{ data: Message }>('DELETE', `/api/messages/${enc(messageId)}`);
    return answer.data;
  }

  /** Messages changed after `after` in up to 15 spaces, oldest change first (sync). */
  changes(spaceIds: Id[], after?: Date | number, includeDeleted = true): Pager<Message> {
    const millis = after instanceof Date ? after.getTime() : after;
    return this.pager<Message>('/api/users/me/messages', {
      spacelist: spaceIds.join(','),
      after: millis,
      includedeleted: includeDeleted ? 'true' : undefined,
    });
  }

  // ---- files -------------------------------------------------------------------

  async uploadUrls(
    files: { contentType: string; contentLength: number; name?: string }[],
    topicId?: Id,
  ): Promise<{ url: string; fileKey: string }[]> {
    const answer = await this.post<{ data: { url: string; fileKey: string }[] }>('/api/files/getuploadurl', {
      files: files.map((f) => ({ 'Content-Type': f.contentType, 'Content-Length': f.contentLength, ...(f.name ? { name: f.name } : {}) })),
      ...(topicId ? { topicId } : {}),
    });
    return answer.data;
  }

  /**
   * Uploads a file: a signed URL, then the bytes with `PUT` (progress reported as they
   * go). Answers the attachment object to put in a message's `content.data`.
   */
  async upload(file: Blob & { name?: string }, options: UploadOptions = {}): Promise<Upload> {
    const contentType = file.type || 'application/octet-stream';
    const name = options.name ?? file.name ?? 'file';
    const [target] = await this.uploadUrls([{ contentType, contentLength: file.size, name }], options.topicId);
    if (!target) throw new PlazaApiError(500, { code: 'response.malformed', message: 'no upload URL in the answer' });
    const putUrl = /^https?:\/\//i.test(target.url) ? this.url(target.url) : this.url(target.url);
    let result;
    try {
      result = await this.put(putUrl, file, contentType, options.onProgress, options.signal);
    } catch (error) {
      throw error instanceof PlazaApiError ? this.fail(error) : this.fail(networkError(error));
    }
    const uploaded: UploadedFile = {
      fileKey: String(result.fileKey ?? target.fileKey),
      contentType: String(result.contentType ?? contentType),
      contentLength: Number(result.contentLength ?? file.size),
      thumbnailFile: (result.thumbnailFile as string | null | undefined) ?? null,
    };
    return { ...uploaded, attachment: attachmentFor(uploaded, name) };
  }

  async downloadUrls(fileKeys: string[]): Promise<DownloadUrl[]> {
    if (fileKeys.length === 0) return [];
    const answer = await this.post<{ data: DownloadUrl[] }>('/api/files/getdownloadurl', { fileKeys });
    return answer.data.map((d) => ({ ...d, url: this.url(d.url) }));
  }

  async downloadUrl(fileKey: string): Promise<DownloadUrl> {
    const [first] = await this.downloadUrls([fileKey]);
    if (!first) throw new PlazaApiError(404, { code: 'file.not_found', message: 'no such file' });
    return first;
  }

  // ---- meetings ----------------------------------------------------------------

  /** A token that admits the caller to the space's media room (`MEDIA_JOIN`). */
  mediaToken(spaceId: Id): Promise<MediaToken> {
    return this.get<MediaToken>(`/api/mediasessions/mpaas/token/${enc(spaceId)}`);
  }

  /** The running meeting, or null when none runs. */
  async activeMeeting(spaceId: Id): Promise<Meeting | null> {
    try {
      return await this.get<Meeting>(`/api/spaces/${enc(spaceId)}/activemeeting`);
    } catch (error) {
      if (error instanceof PlazaApiError && error.code === 'meeting.not_found') return null;
      throw error;
    }
  }

  meetings(spaceId: Id, size = 20): Pager<Meeting> {
    return this.pager<Meeting>(`/api/spaces/${enc(spaceId)}/meetings`, { size });
  }

  private meetingCall(spaceId: Id, meetingId: Id, tail: string, body?: unknown): Promise<{ data: Meeting | Meeting[] }> {
    return this.post(`/api/spaces/${enc(spaceId)}/meetings/${enc(meetingId)}/${tail}`, body);
  }

  endMeeting(spaceId: Id, meetingId: Id) {
    return this.meetingCall(spaceId, meetingId, 'end');
  }

  muteAll(spaceId: Id, meetingId: Id, exclusionList: Id[] = []) {
    return this.meetingCall(spaceId, meetingId, 'muteall', { exclusionList });
  }

  /** Admins turn someone's audio/video/screenshare off; attendees set their own. */
  setMediaState(
    spaceId: Id,
    meetingId: Id,
    attendee: { _id: Id; type?: string },
    state: { audio?: boolean; video?: boolean; screenshare?: boolean },
  ) {
    const type = attendee.type === 'anonymous' ? 'anonymous' : 'user';
    return this.meetingCall(spaceId, meetingId, `attendees/${type}/${enc(attendee._id)}/mediastate`, state);
  }

  raiseHand(spaceId: Id, meetingId: Id, requestedPermissions: Permission[] = ['PERMISSION_UNMUTE']) {
    return this.meetingCall(spaceId, meetingId, 'attendees/raisedhands', { requestedPermissions });
  }

  acceptHand(spaceId: Id, meetingId: Id, attendee: { _id: Id; type?: string }, grantedPermissions: Permission[] = ['PERMISSION_UNMUTE']) {
    return this.meetingCall(spaceId, meetingId, 'attendees/raisedhands/accept', {
      grantedPermissions,
      attendeeId: attendee._id,
      attendeeType: attendee.type ?? 'user',
    });
  }

  lowerHand(spaceId: Id, meetingId: Id, attendee: { _id: Id; type?: string }, rejectedPermissions: Permission[] = ['PERMISSION_UNMUTE']) {
    return this.meetingCall(spaceId, meetingId, 'attendees/raisedhands/lower', {
      rejectedPermissions,
      attendeeId: attendee._id,
      attendeeType: attendee.type ?? 'user',
    });
  }

  startRecording(spaceId: Id, meetingId: Id) {
    return this.meetingCall(spaceId, meetingId, 'recordings');
  }

  stopRecording(spaceId: Id, meetingId: Id, recordingId: Id) {
    return this.meetingCall(spaceId, meetingId, `recordings/${enc(recordingId)}/stop`);
  }
}

function enc(segment: string): string {
  return encodeURIComponent(segment);
}

export function spaceListQuery(params: SpaceListParams): Query {
  return {
    search: params.search,
    topictype: params.topictype,
    topicstatus: params.topicstatus,
    filtertype: params.pinned ? 'pinned' : undefined,
    includedeleted: params.includedeleted ? 'true' : undefined,
    size: params.size,
    sortBy: params.sortBy,
  };
}

export function historyQuery(params: HistoryParams): Query {
  const flag = (v: boolean | undefined) => (v === undefined ? undefined : v ? 'true' : 'false');
  return {
    size: params.size,
    category: params.category,
    searchstring: params.searchstring,
    file_only: flag(params.file_only),
    chatmsg_only: flag(params.chatmsg_only),
    nextRefObjId: params.nextRefObjId,
    prevRefObjId: params.prevRefObjId,
  };
}

/** The REST task body: content plus the top-level fields the Spaces create call takes. */
export function taskBody(task: NewTask): Record<string, unknown> {
  const status = task.completed ? 'completed' : 'pending';
  const dueDate = task.dueDate ? normaliseDate(task.dueDate) : null;
  const assignees = task.assignees ?? [];
  return {
    content: {
      bodyText: task.title,
      description: task.description ?? '',
      status,
      assignees: assignees.map((_id) => ({ _id })),
      ...(dueDate ? { dueDate } : {}),
      ...(task.data ? { data: task.data } : {}),
    },
    assignees,
    status: task.completed ? 1 : 0,
    ...(dueDate ? { dueDate } : {}),
  };
}

/** `YYYY-MM-DD` becomes the end of that day in UTC; ISO times pass through. */
export function normaliseDate(value: string): string {
  if (/^\d{4}-\d{2}-\d{2}$/.test(value)) return `${value}T23:59:59.000Z`;
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) throw new PlazaApiError(0, { code: 'request.invalid', message: `not a date: ${value}` });
  return date.toISOString();
}

export function attachmentFor(file: UploadedFile, name: string): Attachment {
  return {
    fileId: file.fileKey,
    fileSize: file.contentLength,
    fileType: fileKind(file.contentType),
    name,
    provider: 'native',
    providerFileType: file.contentType,
    ...(file.thumbnailFile ? { thumbnailFile: file.thumbnailFile } : {}),
  };
}
