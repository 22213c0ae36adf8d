import type { VideoQuality } from '@plaza/web-sdk';
import { useEffect, useRef } from 'preact/hooks';

/** The simulcast quality a tile of this width (CSS pixels) needs: see `MediaSession.setQuality`. */
export function qualityForWidth(width: number): VideoQuality {
  if (width < 240) return 'low';
  if (width < 560) return 'medium';
  return 'high';
}

/** A video element showing one track (muted: sound plays through `TrackAudio`). `onWidth` hears its size. */
export function TrackVideo({
  track,
  label,
  mirror,
  onWidth,
}: {
  track: MediaStreamTrack;
  label: string;
  mirror?: boolean;
  onWidth?: (width: number) => void;
}) {
  const ref = useRef<HTMLVideoElement>(null);
  // The latest callback, so that a re-render does not re-observe.
  const widthListener = useRef(onWidth);
  widthListener.current = onWidth;
  const observes = Boolean(onWidth);
  useEffect(() => {
    const el = ref.current;
    if (!el || !observes || typeof ResizeObserver === 'undefined') return;
    const observer = new ResizeObserver(() => widthListener.current?.(el.clientWidth));
    observer.observe(el);
    return () => observer.disconnect();
  }, [observes]);
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
