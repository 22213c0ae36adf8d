// The few facts the media client reads from an SDP: each m-section's mid, kind,
// direction and stream id (msid). Plaza's SFU names each forwarded stream by the
// publisher's media session id, so a remote track's msid says whose it is.

export type SdpDirection = 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive';

export interface SdpMedia {
  /** The m-line's index in the description. */
  index: number;
  mid: string;
  kind: string;
  direction: SdpDirection;
  /** Port 0: the m-line was stopped. */
  stopped: boolean;
  /** The stream id (`a=msid:<stream> <track>`, or an `a=ssrc:<n> msid:` line). */
  streamId: string | null;
  trackId: string | null;
}

const DIRECTIONS = new Set<string>(['sendrecv', 'sendonly', 'recvonly', 'inactive']);

/** The m-sections of an SDP, in order. */
export function parseSdpMedia(sdp: string): SdpMedia[] {
  const out: SdpMedia[] = [];
  let current: SdpMedia | null = null;
  let sessionDirection: SdpDirection = 'sendrecv';
  let explicit = false;
  const finish = () => {
    if (current && !explicit) current.direction = sessionDirection;
  };
  for (const raw of sdp.split(/\r?\n/)) {
    const line = raw.trim();
    if (line.startsWith('m=')) {
      finish();
      const [kind = '', port = ''] = line.slice(2).split(' ');
      current = {
        index: out.length,
        mid: String(out.length),
        kind,
        direction: sessionDirection,
        stopped: port === '0',
        streamId: null,
        trackId: null,
      };
      explicit = false;
      out.push(current);
      continue;
    }
    if (!line.startsWith('a=')) continue;
    const attr = line.slice(2);
    if (DIRECTIONS.has(attr)) {
      if (current) {
        current.direction = attr as SdpDirection;
        explicit = true;
      } else sessionDirection = attr as SdpDirection;
      continue;
    }
    if (!current) continue;
    if (attr.startsWith('mid:')) current.mid = attr.slice(4);
    else if (attr.startsWith('msid:')) {
      const [stream = '', track = ''] = attr.slice(5).split(' ');
      if (stream && stream !== '-') current.streamId = stream;
      if (track) current.trackId = track;
    } else if (attr.startsWith('ssrc:') && current.streamId === null) {
      const m = /^ssrc:\d+ msid:(\S+)(?: (\S+))?/.exec(attr);
      if (m && m[1] !== '-') {
        current.streamId = m[1] ?? null;
        current.trackId = m[2] ?? null;
      }
    }
  }
  finish();
  return out;
}

/** Whether the side that wrote this m-section sends media on it. */
export function sends(media: SdpMedia): boolean {
  return !media.stopped && (media.direction === 'sendonly' || media.direction === 'sendrecv');
}
