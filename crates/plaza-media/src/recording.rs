//! Recording a room: what the SFU forwards, written to disk as it arrives.
//!
//! - **One WebM file per published track** (Opus audio, VP8 video: a camera and a screen
//!   share are two files), muxed by libwebm (the `webm` crate), named
//!   `<participant>-<kind>-<track>.webm`. Timestamps are the frames' arrival times on the
//!   recording's clock (zero when it started), so the files of one recording line up.
//!   Video starts at its first keyframe (every publisher is asked for one when the
//!   recording starts); of a simulcast camera, the largest layer is kept, switching on a
//!   keyframe like a subscriber does.
//! - **Beside each file, a frame dump** (`.plzr`, as Janus keeps its `.mjr`): every frame
//!   appended as it is written. A recording cut short by a crash leaves WebM files
//!   without their closing index; [`rebuild`] makes a playable file from the dump
//!   (`plaza admin recordings rebuild`).
//! - **A thread per recording** does the file work: a publisher's task only hands it the
//!   frame it forwards anyway (an `Arc`), through a bounded queue that drops rather than
//!   waits. Stopping closes the queue; the thread finalizes every file (duration, cues)
//!   and reports them ([`RecordedFile`]).
//! - Only Opus and VP8 are recorded (what WebM holds); H.264 tracks are skipped.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender, TrySendError};
use std::time::{Duration, Instant};

use str0m::format::Codec;
use str0m::media::Rid;
use webm::mux::{AudioCodecId, Segment, SegmentBuilder, SegmentMode, VideoCodecId, Writer};

use crate::MediaError;
use crate::TrackKind;
use crate::link::Forwarded;
use crate::simulcast::{FrameVerdict, LayerSwitch};

/// Frames waiting for the recording thread; beyond this they are dropped (and counted).
const RECORDING_BACKLOG: usize = 4096;
/// How often the frame dumps are flushed to the file system: at most this much is lost
/// to a crash.
const DUMP_FLUSH_INTERVAL: Duration = Duration::from_millis(500);
const DUMP_MAGIC: &[u8] = b"PLZR1\n";
/// The Opus identification header WebM's `CodecPrivate` carries (RFC 7845 §5.1): two
/// channels (browsers negotiate `opus/48000/2`), no pre-skip, 48 kHz, no gain, mapping 0.
const OPUS_HEAD: [u8; 19] =
    [b'O', b'p', b'u', b's', b'H', b'e', b'a', b'd', 1, 2, 0, 0, 0x80, 0xBB, 0, 0, 0, 0, 0];

/// Asks a track's publisher for a keyframe of one simulcast layer.
pub(crate) type KeyframeAsk = Arc<dyn Fn(&crate::link::TrackIn, Rid) + Send + Sync>;

/// One file of a finished recording.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedFile {
    /// Whose track.
    pub participant: String,
    /// Audio or video.
    pub kind: TrackKind,
    /// The WebM file.
    pub path: PathBuf,
    /// The frame dump beside it.
    pub dump: PathBuf,
    /// `audio/webm` or `video/webm`.
    pub mime_type: &'static str,
    /// The WebM file's size.
    pub bytes: u64,
    /// From the recording's start to the end of the track's last frame, in ms.
    pub duration_ms: u64,
    /// Frames written.
    pub frames: u64,
}

/// A running recording, held by its room.
pub(crate) struct Recorder {
    frames: SyncSender<Arc<Forwarded>>,
    /// Bytes written so far (frames kept, over every file).
    written: Arc<std::sync::atomic::AtomicU64>,
    thread: std::thread::JoinHandle<Result<Vec<RecordedFile>, MediaError>>,
}

impl Recorder {
    /// Starts the recording thread, writing into `directory` (created if missing).
    pub fn start(directory: PathBuf, ask_keyframe: KeyframeAsk) -> Result<Recorder, MediaError> {
        std::fs::create_dir_all(&directory).map_err(|e| recording_error(&directory, e))?;
        let (frames, queue) = std::sync::mpsc::sync_channel(RECORDING_BACKLOG);
        let started = Instant::now();
        let written = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let counter = written.clone();
        let thread = std::thread::Builder::new()
            .name("plaza-recording".into())
            .spawn(move || record(directory, started, queue, &counter, &ask_keyframe))
            .map_err(|e| MediaError::Recording(format!("no recording thread: {e}")))?;
        Ok(Recorder { frames, written, thread })
    }

    /// Bytes written so far.
    pub fn bytes(&self) -> u64 {
        self.written.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Hands a forwarded frame to the recording; `false` when it was dropped.
    pub fn offer(&self, frame: &Arc<Forwarded>) -> bool {
        match self.frames.try_send(frame.clone()) {
            Ok(()) => true,
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => false,
        }
    }

    /// Closes the queue and waits (off the async runtime) for every file to be finished.
    pub async fn stop(self) -> Result<Vec<RecordedFile>, MediaError> {
        let Recorder { frames, thread, .. } = self;
        drop(frames);
        let joined = tokio::task::spawn_blocking(move || thread.join()).await;
        match joined {
            Ok(Ok(result)) => result,
            _ => Err(MediaError::Recording("the recording thread failed".into())),
        }
    }
}

fn recording_error(path: &Path, error: impl std::fmt::Display) -> MediaError {
    MediaError::Recording(format!("{}: {error}", path.display()))
}

/// The recording thread: one writer per track, until the queue closes.
fn record(
    directory: PathBuf,
    started: Instant,
    queue: Receiver<Arc<Forwarded>>,
    written: &std::sync::atomic::AtomicU64,
    ask_keyframe: &KeyframeAsk,
) -> Result<Vec<RecordedFile>, MediaError> {
    let mut writers: HashMap<u64, TrackWriter> = HashMap::new();
    let mut last_flush = Instant::now();
    let mut failure = None;
    for frame in queue {
        let track = &frame.track;
        let codec = frame.data.params.spec().codec;
        if !matches!(codec, Codec::Opus | Codec::Vp8) {
            continue;
        }
        let writer = match writers.entry(track.id) {
            std::collections::hash_map::Entry::Occupied(entry) => entry.into_mut(),
            std::collections::hash_map::Entry::Vacant(entry) => {
                let kind = TrackKind::of(track.kind);
                let name = format!("{}-{}-{}", sanitize(&track.origin), kind.as_str(), track.id);
                match TrackWriter::create(&directory, &name, &track.origin, kind) {
                    Ok(writer) => entry.insert(writer),
                    Err(error) => {
                        failure.get_or_insert(error);
                        continue;
                    }
                }
            }
        };
        let at = frame.data.network_time.saturating_duration_since(started);
        match writer.write(&frame, at, ask_keyframe) {
            Ok(true) => {
                written
                    .fetch_add(frame.data.data.len() as u64, std::sync::atomic::Ordering::Relaxed);
            }
            Ok(false) => {}
            Err(error) => {
                failure.get_or_insert(error);
            }
        }
        if last_flush.elapsed() >= DUMP_FLUSH_INTERVAL {
            for dump in writers.values_mut().filter_map(|writer| writer.dump.as_mut()) {
                let _ = dump.flush();
            }
            last_flush = Instant::now();
        }
    }
    let mut files = Vec::new();
    for writer in writers.into_values() {
        if let Some(file) = writer.finish()? {
            files.push(file);
        }
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    match failure {
        // A file that could not be written is reported; the others are kept on disk.
        Some(error) if files.is_empty() => Err(error),
        _ => Ok(files),
    }
}

/// File names keep letters, digits, `-` and `_` of a participant id.
fn sanitize(id: &str) -> String {
    id.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' }).collect()
}

/// The WebM segment of a track, made at its first usable frame (a video track's size is
/// in its first keyframe).
enum Muxer {
    Waiting(File),
    Writing { segment: Segment<BufWriter<File>>, track: u64 },
    Failed,
}

/// One track of a recording: its WebM file and its frame dump.
struct TrackWriter {
    participant: String,
    kind: TrackKind,
    path: PathBuf,
    dump_path: PathBuf,
    muxer: Muxer,
    /// `None` when rebuilding from the dump itself.
    dump: Option<BufWriter<File>>,
    /// The simulcast layer kept (the largest), switched on keyframes.
    layer: LayerSwitch,
    last_timestamp_ns: u64,
    frames: u64,
}

impl TrackWriter {
    fn create(
        directory: &Path,
        name: &str,
        participant: &str,
        kind: TrackKind,
    ) -> Result<TrackWriter, MediaError> {
        let path = directory.join(format!("{name}.webm"));
        let dump_path = directory.join(format!("{name}.plzr"));
        let file = File::create(&path).map_err(|e| recording_error(&path, e))?;
        let mut dump =
            BufWriter::new(File::create(&dump_path).map_err(|e| recording_error(&dump_path, e))?);
        let header = DumpHeader { participant: participant.to_owned(), kind };
        header.write(&mut dump).map_err(|e| recording_error(&dump_path, e))?;
        Ok(TrackWriter {
            participant: participant.to_owned(),
            kind,
            path,
            dump_path,
            muxer: Muxer::Waiting(file),
            dump: Some(dump),
            layer: LayerSwitch::default(),
            last_timestamp_ns: 0,
            frames: 0,
        })
    }

    /// Writes a frame; whether it was kept (not another simulcast layer, not video before
    /// the first keyframe).
    fn write(
        &mut self,
        frame: &Forwarded,
        at: Duration,
        ask_keyframe: &KeyframeAsk,
    ) -> Result<bool, MediaError> {
        let data = &frame.data;
        let keyframe = self.kind == TrackKind::Audio || data.is_keyframe();
        if frame.track.layers.is_simulcast() {
            if keyframe {
                let largest = frame.track.layers.ranked().last().map(|(rid, _)| *rid);
                if largest != self.layer.target
                    && let Some(rid) = largest.filter(|rid| Some(*rid) != self.layer.current())
                {
                    ask_keyframe(&frame.track, rid);
                }
                self.layer.target = largest;
            }
            let verdict = self.layer.admit(data.rid, keyframe, data.time, data.network_time);
            if verdict == FrameVerdict::Skip {
                return Ok(false);
            }
        }
        // Monotonic per file, as WebM wants: arrival order is frame order for one track.
        let timestamp_ns = (at.as_nanos() as u64).max(self.last_timestamp_ns);
        if !self.append(&data.data, timestamp_ns, keyframe)? {
            return Ok(false);
        }
        let Some(dump) = &mut self.dump else { return Ok(true) };
        write_dump_record(dump, timestamp_ns, keyframe, &data.data)
            .map_err(|e| recording_error(&self.dump_path, e))?;
        Ok(true)
    }

    /// Writes one frame into the WebM file (making the segment at the first usable one);
    /// whether it was written.
    fn append(
        &mut self,
        data: &[u8],
        timestamp_ns: u64,
        keyframe: bool,
    ) -> Result<bool, MediaError> {
        if let Muxer::Waiting(_) = self.muxer {
            if !keyframe {
                return Ok(false);
            }
            let Muxer::Waiting(file) = std::mem::replace(&mut self.muxer, Muxer::Failed) else {
                unreachable!("checked above")
            };
            let (segment, track) =
                new_segment(file, self.kind, data).map_err(|e| recording_error(&self.path, e))?;
            self.muxer = Muxer::Writing { segment, track };
        }
        let Muxer::Writing { segment, track } = &mut self.muxer else { return Ok(false) };
        segment
            .add_frame(*track, data, timestamp_ns, keyframe)
            .map_err(|e| recording_error(&self.path, format!("{e:?}")))?;
        self.last_timestamp_ns = timestamp_ns;
        self.frames += 1;
        Ok(true)
    }

    /// Finalizes the WebM file; `None` (and both files removed) when nothing was written.
    fn finish(mut self) -> Result<Option<RecordedFile>, MediaError> {
        if let Some(dump) = &mut self.dump {
            dump.flush().map_err(|e| recording_error(&self.dump_path, e))?;
        }
        let Muxer::Writing { segment, .. } = self.muxer else {
            let _ = std::fs::remove_file(&self.path);
            if self.dump.is_some() {
                let _ = std::fs::remove_file(&self.dump_path);
            }
            return Ok(None);
        };
        let duration_ns = self.last_timestamp_ns + frame_duration(self.kind).as_nanos() as u64;
        let writer = segment
            .finalize(Some(duration_ns / 1_000_000))
            .map_err(|_| recording_error(&self.path, "the WebM file could not be finalized"))?;
        writer.into_inner().flush().map_err(|e| recording_error(&self.path, e))?;
        let bytes =
            std::fs::metadata(&self.path).map_err(|e| recording_error(&self.path, e))?.len();
        Ok(Some(RecordedFile {
            participant: self.participant,
            kind: self.kind,
            path: self.path,
            dump: self.dump_path,
            mime_type: mime_type(self.kind),
            bytes,
            duration_ms: duration_ns / 1_000_000,
            frames: self.frames,
        }))
    }
}

fn mime_type(kind: TrackKind) -> &'static str {
    match kind {
        TrackKind::Audio => "audio/webm",
        TrackKind::Video => "video/webm",
    }
}

/// How long a track's last frame lasts: 20 ms of Opus, or one video frame at 25 fps.
fn frame_duration(kind: TrackKind) -> Duration {
    match kind {
        TrackKind::Audio => Duration::from_millis(20),
        TrackKind::Video => Duration::from_millis(40),
    }
}

/// A WebM segment of one track, in file mode (cues and duration written at the end).
/// The segment's timestamps are in nanoseconds (libwebm's default timecode scale is 1 ms;
/// `add_frame` takes nanoseconds).
fn new_segment(
    file: File,
    kind: TrackKind,
    first_frame: &[u8],
) -> Result<(Segment<BufWriter<File>>, u64), String> {
    let writer = Writer::new(BufWriter::new(file));
    let builder = SegmentBuilder::new(writer)
        .and_then(|b| b.set_mode(SegmentMode::File))
        .and_then(|b| b.set_writing_app("Plaza"))
        .map_err(|e| format!("{e:?}"))?;
    let (segment, track) = match kind {
        TrackKind::Audio => {
            let (builder, track) = builder
                .add_audio_track(48_000, 2, AudioCodecId::Opus, None)
                .map_err(|e| format!("{e:?}"))?;
            let builder =
                builder.set_codec_private(track, &OPUS_HEAD).map_err(|e| format!("{e:?}"))?;
            (builder.build(), webm::mux::Track::track_number(&track))
        }
        TrackKind::Video => {
            let (width, height) = vp8_size(first_frame).unwrap_or((640, 480));
            let (builder, track) = builder
                .add_video_track(width, height, VideoCodecId::VP8, None)
                .map_err(|e| format!("{e:?}"))?;
            (builder.build(), webm::mux::Track::track_number(&track))
        }
    };
    Ok((segment, track))
}

/// The picture size a VP8 keyframe declares (RFC 6386 §9.1: 14 bits each after the start
/// code).
fn vp8_size(frame: &[u8]) -> Option<(u32, u32)> {
    if frame.len() < 10 || frame[3..6] != [0x9D, 0x01, 0x2A] {
        return None;
    }
    let width = u32::from(u16::from_le_bytes([frame[6], frame[7]]) & 0x3FFF);
    let height = u32::from(u16::from_le_bytes([frame[8], frame[9]]) & 0x3FFF);
    (width > 0 && height > 0).then_some((width, height))
}

// ---- the frame dump ----

/// The first line of a dump after its magic: whose track and what kind, as JSON-free
/// `key=value` text (`participant=<id> kind=audio`).
struct DumpHeader {
    participant: String,
    kind: TrackKind,
}

impl DumpHeader {
    fn write(&self, out: &mut impl Write) -> std::io::Result<()> {
        out.write_all(DUMP_MAGIC)?;
        writeln!(out, "participant={} kind={}", sanitize(&self.participant), self.kind.as_str())
    }

    fn read(input: &mut impl Read) -> Result<DumpHeader, String> {
        let mut magic = [0u8; DUMP_MAGIC.len()];
        input.read_exact(&mut magic).map_err(|e| e.to_string())?;
        if magic != DUMP_MAGIC {
            return Err("not a Plaza frame dump".into());
        }
        let mut line = Vec::new();
        let mut byte = [0u8; 1];
        while input.read_exact(&mut byte).is_ok() && byte[0] != b'\n' && line.len() < 512 {
            line.push(byte[0]);
        }
        let line = String::from_utf8(line).map_err(|_| "a header that is not text")?;
        let field = |key: &str| {
            line.split(' ')
                .find_map(|part| part.strip_prefix(key)?.strip_prefix('='))
                .map(str::to_owned)
        };
        let kind = match field("kind").as_deref() {
            Some("audio") => TrackKind::Audio,
            Some("video") => TrackKind::Video,
            _ => return Err(format!("no track kind in the header: {line}")),
        };
        Ok(DumpHeader { participant: field("participant").unwrap_or_default(), kind })
    }
}

/// A record: timestamp (ns, u64 LE), flags (bit 0: keyframe), length (u32 LE), bytes.
fn write_dump_record(
    out: &mut impl Write,
    timestamp_ns: u64,
    keyframe: bool,
    data: &[u8],
) -> std::io::Result<()> {
    out.write_all(&timestamp_ns.to_le_bytes())?;
    out.write_all(&[u8::from(keyframe)])?;
    out.write_all(&(data.len() as u32).to_le_bytes())?;
    out.write_all(data)
}

/// The next whole record, or `None` at the end (a record cut short by a crash is the end).
fn read_dump_record(input: &mut impl Read) -> Option<(u64, bool, Vec<u8>)> {
    let mut head = [0u8; 13];
    input.read_exact(&mut head).ok()?;
    let timestamp_ns = u64::from_le_bytes(head[..8].try_into().ok()?);
    let keyframe = head[8] & 1 == 1;
    let len = u32::from_le_bytes(head[9..13].try_into().ok()?) as usize;
    if len > 16 * 1024 * 1024 {
        return None;
    }
    let mut data = vec![0; len];
    input.read_exact(&mut data).ok()?;
    Some((timestamp_ns, keyframe, data))
}

/// The frame dumps (`.plzr`) of a recording's folder, in name order.
pub fn recording_dumps(folder: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut dumps: Vec<PathBuf> = std::fs::read_dir(folder)?
        .flatten()
        .map(|entry| entry.path())
        .filter(|p| p.extension().is_some_and(|e| e == "plzr"))
        .collect();
    dumps.sort();
    Ok(dumps)
}

/// Makes a playable WebM file at `output` from the frame dump `dump` (of a recording cut
/// short by a crash: its own WebM file lacks the closing index). Returns what was written.
pub fn rebuild(dump: &Path, output: &Path) -> Result<RecordedFile, MediaError> {
    let mut input = BufReader::new(File::open(dump).map_err(|e| recording_error(dump, e))?);
    let header = DumpHeader::read(&mut input).map_err(|e| recording_error(dump, e))?;
    if output == dump {
        return Err(recording_error(output, "the output would overwrite the dump"));
    }
    let file = File::create(output).map_err(|e| recording_error(output, e))?;
    let mut writer = TrackWriter {
        participant: header.participant,
        kind: header.kind,
        path: output.to_owned(),
        dump_path: dump.to_owned(),
        muxer: Muxer::Waiting(file),
        dump: None,
        layer: LayerSwitch::default(),
        last_timestamp_ns: 0,
        frames: 0,
    };
    while let Some((timestamp_ns, keyframe, data)) = read_dump_record(&mut input) {
        writer.append(&data, timestamp_ns.max(writer.last_timestamp_ns), keyframe)?;
    }
    // Nothing usable (an empty dump, or video that never reached a keyframe): the
    // finished writer removes the output, never the dump (it has none of its own).
    writer.finish()?.ok_or_else(|| recording_error(dump, "no usable frame in the dump"))
}
