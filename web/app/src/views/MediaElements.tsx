import { useEffect, useRef } from 'preact/hooks';

/** A video element showing one track (muted: sound plays through `TrackAudio`). */
export function TrackVideo({ track, label, mirror }: { track: MediaStreamTrack; label: string; mirror?: boolean }) {
  const ref = useRef<HTMLVideoElement>(null);
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    el.srcObject = new MediaStream([track]);
    void el.play().catch(() => undefined);
    return () => {
      el.srcObject = null;
    };
  }, [track]);
  return <video ref={ref} class={mirror ? 'mirror' : undefined} autoPlay playsInline muted aria-label={label} />;
}

/** Plays one remote audio track through an unmuted element (never shown). */
export function TrackAudio({ track }: { track: MediaStreamTrack }) {
  const ref = useRef<HTMLAudioElement>(null);
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    el.srcObject = new MediaStream([track]);
    void el.play().catch(() => undefined);
    return () => {
      el.srcObject = null;
    };
  }, [track]);
  return <audio ref={ref} autoPlay />;
}
