import type { MediaCall } from '../data/media.js';
import { mediaErrorText } from '../data/media.js';
import { TrackVideo } from './MediaElements.js';

/** Before joining: the camera and microphone to use, a preview of oneself, audio-only. */
export function JoinSetup({ call }: { call: MediaCall }) {
  const { preview, phase, controls: c } = call;
  const p = preview;
  const video = p.stream?.getVideoTracks()[0];
  const joining = phase === 'joining';
  return (
    <div class="card join-setup" role="group" aria-labelledby="join-setup-title">
      <h3 id="join-setup-title">Join with camera and microphone</h3>
      <div class="preview">
        {video && p.choice.video ? (
          <TrackVideo track={video} label="Your camera preview" mirror />
        ) : (
          <p class="hint">{p.choice.video ? 'Starting the camera…' : 'Camera off'}</p>
        )}
      </div>
      {[p.error, phase === 'setup' && call.error].filter(Boolean).map((e, i) => (
        <p key={i} class="error" role="alert">
          {mediaErrorText(e)}
        </p>
      ))}
      <DevicePicker preview={p} />
      <div class="row wrap">
        <button type="button" class="primary" disabled={joining} onClick={() => void c.join(false)}>
          {joining ? 'Joining…' : 'Join now'}
        </button>
        <button type="button" disabled={joining} onClick={() => void c.join(true)}>
          Join audio only
        </button>
        <button type="button" class="ghost" disabled={joining} onClick={c.cancelSetup}>
          Cancel
        </button>
      </div>
    </div>
  );
}

/** The microphone and camera to use, and whether the camera is on (also while a call rings). */
export function DevicePicker({ preview: p }: { preview: MediaCall['preview'] }) {
  return (
    <>
      <div class="row wrap">
        <label class="grow">
          Microphone
          <select value={p.choice.micId} onChange={(e) => p.choose({ micId: e.currentTarget.value })}>
            <option value="">Default microphone</option>
            {p.mics.map((d, i) => (
              <option key={d.deviceId} value={d.deviceId}>
                {d.label || `Microphone ${i + 1}`}
              </option>
            ))}
          </select>
        </label>
        <label class="grow">
          Camera
          <select value={p.choice.camId} disabled={!p.choice.video} onChange={(e) => p.choose({ camId: e.currentTarget.value })}>
            <option value="">Default camera</option>
            {p.cams.map((d, i) => (
              <option key={d.deviceId} value={d.deviceId}>
                {d.label || `Camera ${i + 1}`}
              </option>
            ))}
          </select>
        </label>
      </div>
      <label class="check">
        <input type="checkbox" checked={p.choice.video} onChange={(e) => p.choose({ video: e.currentTarget.checked })} /> Camera on when
        joining
      </label>
    </>
  );
}
