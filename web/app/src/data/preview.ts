// Before joining a meeting: the camera and microphone to use and a preview of oneself
// (getUserMedia), and what to say when the browser or the media connection fails.
import { PlazaApiError } from '@plaza/web-sdk';
import { useEffect, useRef, useState } from 'preact/hooks';

/** What to tell a person when the browser or the media connection fails. */
export function mediaErrorText(error: unknown): string {
  const name = (error as { name?: string } | null)?.name;
  if (name === 'NotAllowedError' || name === 'SecurityError')
    return 'The browser denied access to the camera or microphone. Allow it for this site (the camera icon in the address bar) and try again, or join without them.';
  if (name === 'NotFoundError' || name === 'OverconstrainedError')
    return 'No camera or microphone was found. Plug one in, pick another, or join without it.';
  if (name === 'NotReadableError') return 'The camera or microphone is in use by another application.';
  if (error instanceof PlazaApiError && error.code === 'media.unreachable')
    return 'The media connection could not be established: the media port is unreachable. The server may be behind a firewall that blocks its media port; ask its administrator.';
  if (error instanceof PlazaApiError) return `${error.message} (${error.code})`;
  return error instanceof Error ? error.message : String(error);
}

export interface DeviceChoice {
  micId: string;
  camId: string;
  /** Whether to join with the camera on. */
  video: boolean;
}

export function constraint(id: string): MediaTrackConstraints | boolean {
  return id ? { deviceId: { exact: id } } : true;
}

/** Devices and a self-preview before joining; the preview's tracks are handed to the session. */
export function usePreview(active: boolean) {
  const [choice, setChoice] = useState<DeviceChoice>({ micId: '', camId: '', video: true });
  const [devices, setDevices] = useState<MediaDeviceInfo[]>([]);
  const [stream, setStream] = useState<MediaStream | null>(null);
  const [error, setError] = useState<unknown>(null);
  const handedOver = useRef(false);

  useEffect(() => {
    if (!active) return;
    let current: MediaStream | null = null;
    let cancelled = false;
    handedOver.current = false;
    setError(null);
    const md = navigator.mediaDevices;
    if (!md?.getUserMedia) {
      setError(new Error('This browser cannot use a camera or microphone here (the page must be served over HTTPS).'));
      return;
    }
    md.getUserMedia({ audio: constraint(choice.micId), video: choice.video ? constraint(choice.camId) : false })
      .then(async (s) => {
        if (cancelled) return s.getTracks().forEach((t) => t.stop());
        current = s;
        setStream(s);
        setDevices(await md.enumerateDevices());
      })
      .catch((e: unknown) => {
        if (cancelled) return;
        setStream(null);
        setError(e);
      });
    return () => {
      cancelled = true;
      if (current && !handedOver.current) current.getTracks().forEach((t) => t.stop());
    };
  }, [active, choice.micId, choice.camId, choice.video]);

  return {
    choice,
    choose: (change: Partial<DeviceChoice>) => setChoice((c) => ({ ...c, ...change })),
    mics: devices.filter((d) => d.kind === 'audioinput'),
    cams: devices.filter((d) => d.kind === 'videoinput'),
    stream,
    error,
    /** The tracks to join with; from now on the session owns (and stops) them. */
    take: (audioOnly: boolean) => {
      handedOver.current = true;
      const video = !audioOnly && choice.video;
      if (!video) stream?.getVideoTracks().forEach((t) => t.stop());
      return { microphone: stream?.getAudioTracks()[0] ?? null, camera: video ? (stream?.getVideoTracks()[0] ?? null) : null };
    },
  };
}
