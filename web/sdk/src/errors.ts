/** One field the server found wrong in a request (`fields` of an error body). */
export interface FieldError {
  field: string;
  message: string;
}

/** The JSON body of every Plaza refusal: `{code, message}` plus optional details. */
export interface ErrorBody {
  code: string;
  message: string;
  fields?: FieldError[];
  retryAfter?: number;
  [key: string]: unknown;
}

/**
 * A request the server refused (or that never reached it). `code` is the server's
 * stable error code (`topic.password_required`, `auth.invalid_credentials`, ...) and
 * `message` its human-readable text; transport failures use `network.error` with
 * status 0, and answers that were not Plaza's JSON use `http.<status>`.
 */
export class PlazaApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly fields: FieldError[];
  readonly retryAfter?: number;
  readonly requestId?: string;
  readonly body?: unknown;

  constructor(status: number, body: ErrorBody, requestId?: string, raw?: unknown) {
    super(body.message);
    this.name = 'PlazaApiError';
    this.status = status;
    this.code = body.code;
    this.fields = Array.isArray(body.fields) ? body.fields : [];
    if (typeof body.retryAfter === 'number') this.retryAfter = body.retryAfter;
    if (requestId) this.requestId = requestId;
    this.body = raw ?? body;
  }

  /** A one-line text for people: the message, then each field's complaint. */
  describe(): string {
    const fields = this.fields.map((f) => `${f.field}: ${f.message}`);
    return [this.message, ...fields].filter(Boolean).join('; ');
  }
}

function isErrorBody(value: unknown): value is ErrorBody {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as ErrorBody).code === 'string' &&
    typeof (value as ErrorBody).message === 'string'
  );
}

/**
 * Turns a failed answer into a {@link PlazaApiError}: the server's `{code, message}`
 * when the body is one, else a code derived from the status and the body's text.
 */
export function errorFromResponse(
  status: number,
  bodyText: string,
  requestId?: string | null,
  retryAfterHeader?: string | null,
): PlazaApiError {
  let parsed: unknown;
  try {
    parsed = bodyText ? JSON.parse(bodyText) : undefined;
  } catch {
    parsed = undefined;
  }
  if (isErrorBody(parsed)) {
    const body = { ...parsed };
    if (body.retryAfter === undefined && retryAfterHeader && /^\d+$/.test(retryAfterHeader.trim())) {
      body.retryAfter = Number(retryAfterHeader.trim());
    }
    return new PlazaApiError(status, body, requestId ?? undefined, parsed);
  }
  // OAuth endpoints answer RFC 6749 `{error, error_description}`.
  if (parsed && typeof parsed === 'object' && typeof (parsed as { error?: unknown }).error === 'string') {
    const oauth = parsed as { error: string; error_description?: string };
    return new PlazaApiError(
      status,
      { code: `oauth.${oauth.error}`, message: oauth.error_description ?? oauth.error },
      requestId ?? undefined,
      parsed,
    );
  }
  const text = bodyText.trim().slice(0, 200);
  return new PlazaApiError(
    status,
    { code: `http.${status}`, message: text || `the server answered ${status}` },
    requestId ?? undefined,
    bodyText,
  );
}

/** A request that never got an answer (offline, DNS, CORS, aborted). */
export function networkError(cause: unknown): PlazaApiError {
  const message = cause instanceof Error ? cause.message : String(cause);
  return new PlazaApiError(0, { code: 'network.error', message: `could not reach the server: ${message}` });
}

/** The error of a refused socket event (`SEND_MESSAGE_FAILED` and friends). */
export function errorFromSocket(payload: unknown, fallback: string): PlazaApiError {
  const error = (payload as { error?: unknown } | undefined)?.error;
  if (isErrorBody(error)) return new PlazaApiError(0, error, undefined, payload);
  return new PlazaApiError(0, { code: 'socket.refused', message: fallback }, undefined, payload);
}
