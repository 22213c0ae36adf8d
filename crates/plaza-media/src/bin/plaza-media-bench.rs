//! The SFU's forwarding rate and CPU cost on loopback, beside the machine's raw loopback
//! UDP packet rate, in one run.
//!
//! ```text
//! cargo run --release -p plaza-media --bin plaza-media-bench -- [--seconds N] [P+L ...]
//! ```
//!
//! Each scenario `P+L` is a room of P publishers (Opus-shaped audio every 20 ms and
//! VP8-shaped video at 25 frames a second, as the crate's test client sends) and L
//! listen-only participants; every publisher's tracks go to everyone else. The default
//! scenarios are `1+50` (one speaker, fifty listeners) and `10+0` (ten people who all see
//! and hear one another).
//!
//! A scenario `P+L:rec` also records the room during the measured window (every
//! publisher's audio and video as WebM files in a temporary folder) and reports the
//! recording thread's CPU and the bytes written per minute, per recorded stream.
//!
//! The SFU runs on its own single-threaded-worker Tokio runtime (threads named
//! `plaza-sfu`) and the clients on another, so the SFU's CPU time is read per thread from
//! `/proc/self/task/*/schedstat`, apart from the clients'. Figures: datagrams the SFU sent
//! per second (RTP mostly, with RTCP), media frames it forwarded, the share of one core it
//! used, and from these the datagrams it would send per second with a core to itself.

use std::net::UdpSocket;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use plaza_media::client::ClientOptions;
use plaza_media::loopback::LoopbackParticipant;
use plaza_media::{MediaConfig, MediaServer, RoomStats};

const SFU_THREAD: &str = "plaza-sfu";
const RECORDING_THREAD: &str = "plaza-recording";
const SETTLE: Duration = Duration::from_secs(60);

struct Scenario {
    publishers: usize,
    listeners: usize,
    record: bool,
}

struct Measured {
    stats: RoomStats,
    sfu_cpu: Duration,
    elapsed: Duration,
    streams: usize,
    recording: Option<Recorded>,
}

/// What recording the window cost.
struct Recorded {
    streams: usize,
    cpu: Duration,
    bytes: u64,
}

fn main() {
    let mut seconds = 5u64;
    let mut scenarios = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--seconds" {
            seconds = args.next().and_then(|s| s.parse().ok()).expect("--seconds takes a number");
        } else {
            let (room, record) = match arg.strip_suffix(":rec") {
                Some(room) => (room, true),
                None => (arg.as_str(), false),
            };
            let (p, l) = room.split_once('+').expect("a scenario is PUBLISHERS+LISTENERS[:rec]");
            scenarios.push(Scenario {
                publishers: p.parse().expect("publishers: a number"),
                listeners: l.parse().expect("listeners: a number"),
                record,
            });
        }
    }
    if scenarios.is_empty() {
        scenarios = vec![
            Scenario { publishers: 1, listeners: 50, record: false },
            Scenario { publishers: 10, listeners: 0, record: false },
        ];
    }
    let window = Duration::from_secs(seconds);

    println!(
        "| scenario | forwarded streams | datagrams sent/s | frames forwarded/s | dropped | SFU CPU (one core) | µs CPU per datagram | datagrams/s per SFU core |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    let mut recordings = Vec::new();
    for scenario in &scenarios {
        let m = run_scenario(scenario, window);
        let secs = m.elapsed.as_secs_f64();
        let datagrams = m.stats.sent_datagrams as f64;
        let cpu = m.sfu_cpu.as_secs_f64();
        println!(
            "| {} publishers + {} listeners{} | {} | {:.0} | {:.0} | {} | {:.0} % | {:.1} | {:.0} |",
            scenario.publishers,
            scenario.listeners,
            if scenario.record { ", recorded" } else { "" },
            m.streams,
            datagrams / secs,
            m.stats.forwarded_frames as f64 / secs,
            m.stats.dropped_frames,
            100.0 * cpu / secs,
            1e6 * cpu / datagrams.max(1.0),
            datagrams / cpu.max(1e-9),
        );
        if let Some(recorded) = &m.recording {
            let per_minute = recorded.bytes as f64 * 60.0 / secs;
            let cpu = 100.0 * recorded.cpu.as_secs_f64() / secs;
            recordings.push(format!(
                "recording {}+{}: {} streams, recording thread {cpu:.1} % of a core ({:.2} % per stream), \
                 {:.1} MB a minute ({:.2} MB per stream), {} frames dropped by the recorder",
                scenario.publishers,
                scenario.listeners,
                recorded.streams,
                cpu / recorded.streams as f64,
                per_minute / 1e6,
                per_minute / 1e6 / recorded.streams as f64,
                m.stats.recording_dropped_frames,
            ));
        }
    }
    for line in recordings {
        println!("{line}");
    }
    for size in [200, 1200] {
        let rate = raw_loopback_rate(size, Duration::from_secs(2));
        println!(
            "raw loopback UDP, one sender thread to one receiver thread, {size}-byte datagrams: {rate:.0} datagrams/s received"
        );
    }
}

fn run_scenario(scenario: &Scenario, window: Duration) -> Measured {
    let sfu = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name(SFU_THREAD)
        .enable_all()
        .build()
        .expect("SFU runtime");
    let clients = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("bench-clients")
        .enable_all()
        .build()
        .expect("client runtime");
    let config = MediaConfig {
        udp_listen: "127.0.0.1:0".parse().expect("address"),
        public_ip: None,
        tcp_listen: None,
        max_participants: scenario.publishers + scenario.listeners,
        max_video_kbps: 0,
    };
    let server = sfu.block_on(MediaServer::bind(config)).expect("SFU binds");
    let room = "bench";
    let participants = clients.block_on(async {
        let mut participants = Vec::new();
        for index in 0..scenario.publishers + scenario.listeners {
            let publishes = index < scenario.publishers;
            let options =
                ClientOptions { audio: publishes, video: publishes, ..ClientOptions::default() };
            let name = format!("p{index}");
            let participant =
                LoopbackParticipant::join(&server, room, &name, options).await.expect("join");
            participants.push(participant);
        }
        // Everyone receives every publisher's audio and video before measuring.
        for participant in &participants {
            let others = (0..scenario.publishers)
                .map(|p| format!("p{p}"))
                .filter(|p| *p != participant.name)
                .collect::<Vec<_>>();
            participant
                .expect(SETTLE, "every publisher's media", |s| {
                    others.iter().all(|p| {
                        s.received(p, plaza_media::TrackKind::Audio).frames > 0
                            && s.received(p, plaza_media::TrackKind::Video).frames > 0
                    })
                })
                .await;
        }
        participants
    });
    let media_room = server.room(room).expect("the room");
    let folder = std::env::temp_dir().join(format!("plaza-bench-recording-{}", std::process::id()));
    if scenario.record {
        media_room.start_recording(folder.clone()).expect("the recording starts");
        // Past the first keyframes, so the window sees steady recording.
        std::thread::sleep(Duration::from_secs(1));
    }
    let recording_cpu_before = thread_cpu_time(RECORDING_THREAD);
    let (stats_before, cpu_before, started) = (media_room.stats(), sfu_cpu_time(), Instant::now());
    let bytes_before = folder_bytes(&folder);
    std::thread::sleep(window);
    let (stats_after, cpu_after, elapsed) = (media_room.stats(), sfu_cpu_time(), started.elapsed());
    let recording = scenario.record.then(|| {
        let cpu = thread_cpu_time(RECORDING_THREAD).saturating_sub(recording_cpu_before);
        let bytes = folder_bytes(&folder).saturating_sub(bytes_before);
        let files = sfu.block_on(media_room.stop_recording()).expect("the recording stops");
        let _ = std::fs::remove_dir_all(&folder);
        Recorded { streams: files.len(), cpu, bytes }
    });
    let receivers = scenario.publishers + scenario.listeners - 1;
    clients.block_on(async move { drop(participants) });
    drop(clients);
    drop(sfu);
    Measured {
        stats: RoomStats {
            forwarded_frames: stats_after.forwarded_frames - stats_before.forwarded_frames,
            dropped_frames: stats_after.dropped_frames - stats_before.dropped_frames,
            sent_datagrams: stats_after.sent_datagrams - stats_before.sent_datagrams,
            sent_bytes: stats_after.sent_bytes - stats_before.sent_bytes,
            recording_dropped_frames: stats_after.recording_dropped_frames
                - stats_before.recording_dropped_frames,
        },
        sfu_cpu: cpu_after.saturating_sub(cpu_before),
        elapsed,
        streams: scenario.publishers * receivers * 2,
        recording,
    }
}

/// Bytes of the files in `folder` (0 when it does not exist).
fn folder_bytes(folder: &std::path::Path) -> u64 {
    std::fs::read_dir(folder)
        .map(|entries| entries.flatten().filter_map(|e| e.metadata().ok()).map(|m| m.len()).sum())
        .unwrap_or(0)
}

/// CPU time of the SFU runtime's threads.
fn sfu_cpu_time() -> Duration {
    thread_cpu_time(SFU_THREAD)
}

/// CPU time of this process's threads named `thread`: the first field of each thread's
/// `schedstat` is its time on a CPU in nanoseconds.
fn thread_cpu_time(thread: &str) -> Duration {
    let mut total = 0u64;
    for task in std::fs::read_dir("/proc/self/task").expect("/proc/self/task").flatten() {
        let path = task.path();
        let name = std::fs::read_to_string(path.join("comm")).unwrap_or_default();
        if name.trim_end() != thread {
            continue;
        }
        let schedstat = std::fs::read_to_string(path.join("schedstat")).unwrap_or_default();
        total +=
            schedstat.split_whitespace().next().and_then(|ns| ns.parse::<u64>().ok()).unwrap_or(0);
    }
    Duration::from_nanos(total)
}

/// Datagrams per second one thread receives from another sending as fast as it can.
fn raw_loopback_rate(size: usize, window: Duration) -> f64 {
    let receiver = UdpSocket::bind("127.0.0.1:0").expect("receiver");
    receiver.set_read_timeout(Some(Duration::from_millis(100))).expect("timeout");
    let target = receiver.local_addr().expect("address");
    let stop = Arc::new(AtomicBool::new(false));
    let received = Arc::new(AtomicU64::new(0));
    let reader = std::thread::spawn({
        let (stop, received) = (stop.clone(), received.clone());
        move || {
            let mut buffer = vec![0u8; 2048];
            while !stop.load(Ordering::Relaxed) {
                if receiver.recv_from(&mut buffer).is_ok() {
                    received.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
    });
    let sender = UdpSocket::bind("127.0.0.1:0").expect("sender");
    let payload = vec![0x80u8; size];
    let started = Instant::now();
    while started.elapsed() < window {
        for _ in 0..64 {
            let _ = sender.send_to(&payload, target);
        }
    }
    let count = received.load(Ordering::Relaxed);
    let elapsed = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    let _ = reader.join();
    count as f64 / elapsed.as_secs_f64()
}
