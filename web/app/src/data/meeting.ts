import type { Meeting, MeetingAttendee, Space } from '@plaza/web-sdk';
import { useEffect, useState } from 'preact/hooks';

import { session } from '../session.js';
import { useAction } from '../ui.js';

/**
 * A space's meeting: `undefined` while loading, `null` when none runs. It is read again
 * on every media event of the space and after a reconnection. Joining is the media's
 * (`useMediaCall` in data/media.ts): a person's media connecting starts the meeting or adds them.
 */
export function useMeeting(space: Space) {
  const client = session.client;
  const me = session.user!;
  const [meeting, setMeeting] = useState<Meeting | null | undefined>(undefined);
  const { error, busy, run } = useAction();

  const refresh = () => run(async () => setMeeting(await client.activeMeeting(space._id)));

  useEffect(() => {
    void refresh();
    const rt = session.realtime;
    if (!rt) return;
    const off = rt.on('media', (event) => event.topicId === space._id && void refresh());
    const offStatus = rt.on('status', (s) => s === 'online' && void refresh());
    return () => {
      off();
      offStatus();
    };
  }, [space._id]);

  const attendees = meeting?.content.attendees ?? [];
  const mine = attendees.find((a) => a._id === me._id);
  const recording = meeting?.content.recordings.find((r) => !r.endTime);
  const sid = space._id;
  const mid = meeting?._id ?? '';
  /** Runs a meeting call, its failure shown with the panel's. */
  const act = (call: () => Promise<unknown>) => void run(call);

  const controls = {
    raiseHand: () => act(() => client.raiseHand(sid, mid)),
    muteAll: () => act(() => client.muteAll(sid, mid)),
    startRecording: () => act(() => client.startRecording(sid, mid)),
    stopRecording: (recordingId: string) => act(() => client.stopRecording(sid, mid, recordingId)),
    end: () => act(() => client.endMeeting(sid, mid)),
    mute: (a: MeetingAttendee) => act(() => client.setMediaState(sid, mid, a, { audio: false })),
    unmute: (a: MeetingAttendee) => act(() => client.setMediaState(sid, mid, a, { audio: true })),
    acceptHand: (a: MeetingAttendee) => act(() => client.acceptHand(sid, mid, a)),
    lowerHand: (a: MeetingAttendee) => act(() => client.lowerHand(sid, mid, a)),
  };
  return { meeting, attendees, mine, recording, error, busy, controls };
}

export type MeetingControls = ReturnType<typeof useMeeting>['controls'];
