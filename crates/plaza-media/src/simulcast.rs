//! Simulcast: a publisher sends its camera as two or three layers (the same picture at
//! different sizes and bitrates, each an RTP stream with its own RID); each subscriber
//! receives one layer of it, chosen from the bandwidth the server estimates towards that
//! subscriber and the quality the subscriber asks for (its tile size).
//!
//! - The publisher's task measures each layer's bitrate ([`LayerMeter`]) and publishes the
//!   figures in the track's [`Layers`], which every subscriber's task reads.
//! - A subscriber's task picks a target layer per simulcast track ([`allocate`]): the
//!   asked quality, lowered while the layers chosen would not fit in its bandwidth
//!   estimate. Layers are ranked by their measured bitrate, not by their RID, because
//!   clients name layers as they please (`q/h/f`, `l/m/h`, `0/1/2`).
//! - The switch ([`LayerSwitch`]) happens only on a keyframe of the target layer (the
//!   publisher is asked for one with a PLI for that RID); until then the current layer
//!   keeps flowing, so the picture never freezes. Each layer has its own RTP clock
//!   offset, so the subscriber's timestamps are rewritten to run on across a switch.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use str0m::media::{MediaTime, Rid};

/// How often a publisher's layer bitrates are measured and subscribers re-choose.
pub(crate) const LAYER_EVALUATION_INTERVAL: Duration = Duration::from_secs(1);
/// How often each outgoing stream's loss (from the client's receiver reports) is read.
pub(crate) const LOSS_REPORT_INTERVAL: Duration = Duration::from_secs(2);

/// The quality a subscriber asks for a simulcast video: its tile size. `Low` for
/// thumbnails, `Medium` for a grid, `High` for the speaker or a full-screen tile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Hash)]
pub enum Quality {
    /// The smallest layer.
    Low,
    /// The middle layer (the smallest of two).
    Medium,
    /// The largest layer the bandwidth allows.
    #[default]
    High,
}

impl Quality {
    /// `low`, `medium` or `high`.
    pub fn parse(text: &str) -> Option<Quality> {
        match text {
            "low" => Some(Quality::Low),
            "medium" => Some(Quality::Medium),
            "high" => Some(Quality::High),
            _ => None,
        }
    }

    /// The index, among `count` layers ranked from smallest to largest, this quality asks.
    fn index(self, count: usize) -> usize {
        match self {
            Quality::Low => 0,
            Quality::Medium => (count.saturating_sub(1)) / 2,
            Quality::High => count.saturating_sub(1),
        }
    }
}

/// The simulcast layers of a published track and their measured bitrates (bits per
/// second; 0 until measured, or when the publisher stopped sending that layer).
#[derive(Debug, Default)]
pub(crate) struct Layers {
    layers: Vec<(Rid, AtomicU64)>,
}

impl Layers {
    pub fn new(rids: &[Rid]) -> Layers {
        Layers { layers: rids.iter().map(|rid| (*rid, AtomicU64::new(0))).collect() }
    }

    /// Whether the track is simulcast (more than one layer).
    pub fn is_simulcast(&self) -> bool {
        self.layers.len() > 1
    }

    /// The layers' RIDs, in the order the publisher declared them.
    pub fn rids(&self) -> Vec<Rid> {
        self.layers.iter().map(|(rid, _)| *rid).collect()
    }

    pub fn contains(&self, rid: Rid) -> bool {
        self.layers.iter().any(|(layer, _)| *layer == rid)
    }

    fn set(&self, index: usize, bits_per_second: u64) {
        self.layers[index].1.store(bits_per_second, Ordering::Relaxed);
    }

    /// The layers being sent now, smallest bitrate first.
    pub fn ranked(&self) -> Vec<(Rid, u64)> {
        let mut ranked: Vec<(Rid, u64)> = self
            .layers
            .iter()
            .map(|(rid, rate)| (*rid, rate.load(Ordering::Relaxed)))
            .filter(|(_, rate)| *rate > 0)
            .collect();
        ranked.sort_by_key(|(_, rate)| *rate);
        ranked
    }
}

/// The publisher's side: bytes per layer over the last interval, turned into bitrates.
pub(crate) struct LayerMeter {
    rids: Vec<Rid>,
    bytes: Vec<u64>,
    since: Instant,
}

impl LayerMeter {
    pub fn new(rids: Vec<Rid>) -> LayerMeter {
        let bytes = vec![0; rids.len()];
        LayerMeter { rids, bytes, since: Instant::now() }
    }

    /// Counts a frame of layer `rid`.
    pub fn record(&mut self, rid: Rid, bytes: usize) {
        if let Some(index) = self.rids.iter().position(|layer| *layer == rid) {
            self.bytes[index] += bytes as u64;
        }
    }

    /// At most once per [`LAYER_EVALUATION_INTERVAL`]: stores the bitrates in `layers`.
    pub fn publish_if_due(&mut self, now: Instant, layers: &Layers) {
        let elapsed = now.saturating_duration_since(self.since);
        if elapsed < LAYER_EVALUATION_INTERVAL {
            return;
        }
        for (index, bytes) in self.bytes.iter_mut().enumerate() {
            let rate = (*bytes as f64 * 8.0 / elapsed.as_secs_f64()) as u64;
            layers.set(index, rate);
            *bytes = 0;
        }
        self.since = now;
    }
}

/// One simulcast video a subscriber receives, for [`allocate`].
#[derive(Debug, Clone)]
pub(crate) struct Demand {
    /// The layers being sent, smallest first (see [`Layers::ranked`]).
    pub ranked: Vec<(Rid, u64)>,
    /// What the subscriber asked for.
    pub quality: Quality,
}

/// Chooses a layer for each simulcast video of one subscriber. Each starts at the layer
/// its quality asks; while the total exceeds `budget` (bits per second, the bandwidth
/// estimate less what is not simulcast), the largest choice steps down, until everything
/// is at its smallest layer (which is sent whatever the estimate: a subscriber always
/// gets a picture). `None` for a video whose layers are not measured yet.
pub(crate) fn allocate(demands: &[Demand], budget: Option<u64>) -> Vec<Option<Rid>> {
    let mut chosen: Vec<Option<usize>> = demands
        .iter()
        .map(|demand| {
            (!demand.ranked.is_empty()).then(|| demand.quality.index(demand.ranked.len()))
        })
        .collect();
    if let Some(budget) = budget {
        let rate = |index: usize, choice: usize| demands[index].ranked[choice].1;
        let total = |chosen: &[Option<usize>]| -> u64 {
            chosen.iter().enumerate().filter_map(|(i, c)| c.map(|c| rate(i, c))).sum()
        };
        while total(&chosen) > budget {
            // Step down the most expensive choice that can still step down.
            let largest = chosen
                .iter()
                .enumerate()
                .filter_map(|(i, c)| c.filter(|c| *c > 0).map(|c| (i, rate(i, c))))
                .max_by_key(|(_, rate)| *rate);
            let Some((index, _)) = largest else { break };
            chosen[index] = chosen[index].map(|c| c - 1);
        }
    }
    chosen.iter().enumerate().map(|(i, choice)| choice.map(|c| demands[i].ranked[c].0)).collect()
}

/// The bandwidth towards one subscriber, estimated from the loss its receiver reports
/// (RTCP receiver reports, each second), as the loss-based half of Google's congestion
/// control does: unknown (no limit) until loss shows; over 10 % loss it drops to what is
/// being sent less half the loss; under 2 % it grows 8 % an update; between, or with no
/// report since the last update, it holds.
#[derive(Debug, Default)]
pub(crate) struct LossEstimate {
    estimate: Option<u64>,
    worst_loss: Option<f32>,
}

impl LossEstimate {
    /// A loss fraction (0 to 1) one of the subscriber's streams reported.
    pub fn record(&mut self, loss: f32) {
        self.worst_loss = Some(self.worst_loss.map_or(loss, |worst| worst.max(loss)));
    }

    /// The estimate after this interval, given what was sent (bits per second).
    pub fn update(&mut self, sending_bps: u64) -> Option<u64> {
        let Some(loss) = self.worst_loss.take() else { return self.estimate };
        if loss > 0.10 {
            let lowered = sending_bps as f64 * (1.0 - 0.5 * f64::from(loss));
            self.estimate = Some(lowered as u64);
        } else if loss < 0.02 {
            self.estimate = self.estimate.map(|e| e.max(sending_bps) * 108 / 100);
        }
        self.estimate
    }
}

/// What a subscriber does with a frame of a simulcast track.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FrameVerdict {
    /// Write it (with the rewritten time).
    Write(MediaTime),
    /// Not the layer being forwarded.
    Skip,
}

/// A subscriber's current and target layer of one video, and the rewriting of its media
/// time so that the timestamps run on across switches. Also used, with no layers, for
/// tracks without simulcast: their time passes through unchanged.
#[derive(Debug, Default)]
pub(crate) struct LayerSwitch {
    /// The layer being written (`None`: none yet, or no simulcast).
    current: Option<Rid>,
    /// The layer wanted; becomes current on its next keyframe.
    pub target: Option<Rid>,
    /// Added to a frame's media time (in its clock's ticks): changes at each switch.
    offset: i128,
    /// The last time written, and when its frame arrived.
    last: Option<(MediaTime, Instant)>,
}

impl LayerSwitch {
    pub fn current(&self) -> Option<Rid> {
        self.current
    }

    /// Whether a frame of layer `rid` (a keyframe or not) is written, and at what time.
    pub fn admit(
        &mut self,
        rid: Option<Rid>,
        keyframe: bool,
        time: MediaTime,
        arrived: Instant,
    ) -> FrameVerdict {
        let is_current = rid == self.current;
        let can_switch = rid.is_some() && rid == self.target && !is_current && keyframe;
        // Before any layer is chosen (no bitrates measured yet), the first keyframe of any
        // layer starts the picture; the evaluation that follows moves to the right one.
        let first_picture = self.current.is_none() && self.target.is_none() && keyframe;
        if !(is_current || can_switch || first_picture) {
            return FrameVerdict::Skip;
        }
        if !is_current {
            self.current = rid;
            self.offset = match self.last {
                // The new layer's first frame comes just after the last one written, by
                // the wall-clock time between their arrivals (at least one tick).
                Some((last, at)) => {
                    let gap = MediaTime::from(arrived.saturating_duration_since(at))
                        .rebase(time.frequency())
                        .numer()
                        .max(1);
                    i128::from(last.numer()) + i128::from(gap) - i128::from(time.numer())
                }
                None => 0,
            };
        }
        let rewritten = (i128::from(time.numer()) + self.offset).max(0) as u64;
        let out = MediaTime::new(rewritten, time.frequency());
        self.last = Some((out, arrived));
        FrameVerdict::Write(out)
    }
}

#[cfg(test)]
mod tests {
    use str0m::media::Frequency;

    use super::*;

    fn ranked(rates: &[(&str, u64)]) -> Vec<(Rid, u64)> {
        rates.iter().map(|(rid, rate)| (Rid::from(*rid), *rate)).collect()
    }

    const THREE: [(&str, u64); 3] = [("l", 150_000), ("m", 500_000), ("h", 1_500_000)];

    #[test]
    fn each_quality_asks_its_layer_when_the_bandwidth_allows() {
        let demand = |quality| Demand { ranked: ranked(&THREE), quality };
        let chosen =
            allocate(&[demand(Quality::Low), demand(Quality::Medium), demand(Quality::High)], None);
        assert_eq!(chosen, vec![Some(Rid::from("l")), Some(Rid::from("m")), Some(Rid::from("h"))]);
        // Two layers: medium is the smaller one.
        let two = Demand { ranked: ranked(&THREE[..2]), quality: Quality::Medium };
        assert_eq!(allocate(&[two], None), vec![Some(Rid::from("l"))]);
    }

    #[test]
    fn a_small_estimate_steps_the_largest_choices_down_first() {
        let high = Demand { ranked: ranked(&THREE), quality: Quality::High };
        // 2.2 Mbit/s: one high (1.5) and one medium (0.5) fit, not two highs.
        let chosen = allocate(&[high.clone(), high.clone()], Some(2_200_000));
        let mut rids: Vec<_> = chosen.into_iter().flatten().collect();
        rids.sort_by_key(|rid| rid.to_string());
        assert_eq!(rids, vec![Rid::from("h"), Rid::from("m")]);
        // Nothing fits: everyone still gets the smallest layer.
        let chosen = allocate(&[high.clone(), high], Some(10_000));
        assert_eq!(chosen, vec![Some(Rid::from("l")), Some(Rid::from("l"))]);
    }

    #[test]
    fn the_loss_estimate_drops_with_heavy_loss_and_recovers_slowly() {
        let mut estimate = LossEstimate::default();
        assert_eq!(estimate.update(2_000_000), None, "no loss seen: no limit");
        estimate.record(0.01);
        assert_eq!(estimate.update(2_000_000), None);
        estimate.record(0.05);
        estimate.record(0.30);
        // 30 % loss while sending 2 Mbit/s: 2 × (1 - 0.15).
        let lowered = estimate.update(2_000_000).unwrap();
        assert!(lowered.abs_diff(1_700_000) < 10, "{lowered}");
        estimate.record(0.05);
        assert_eq!(estimate.update(1_000_000), Some(lowered), "between 2 and 10 %: held");
        assert_eq!(estimate.update(1_000_000), Some(lowered), "no report: held");
        estimate.record(0.0);
        assert_eq!(estimate.update(1_000_000), Some(lowered * 108 / 100), "no loss: 8 % more");
    }

    #[test]
    fn unmeasured_layers_are_not_chosen_yet() {
        let demand = Demand { ranked: Vec::new(), quality: Quality::High };
        assert_eq!(allocate(&[demand], Some(1_000_000)), vec![None]);
    }

    #[test]
    fn layers_rank_by_measured_bitrate_and_skip_silent_ones() {
        let layers = Layers::new(&[Rid::from("f"), Rid::from("q"), Rid::from("h")]);
        layers.set(0, 1_200_000);
        layers.set(1, 100_000);
        assert_eq!(ranked(&[("q", 100_000), ("f", 1_200_000)]), layers.ranked());
    }

    fn video(numer: u64) -> MediaTime {
        MediaTime::new(numer, Frequency::NINETY_KHZ)
    }

    #[test]
    fn a_switch_waits_for_a_keyframe_of_the_target_and_keeps_time_running() {
        let (l, h) = (Some(Rid::from("l")), Some(Rid::from("h")));
        let start = Instant::now();
        let at = |ms: u64| start + Duration::from_millis(ms);
        let mut switch = LayerSwitch { target: l, ..LayerSwitch::default() };
        // Nothing until the target's keyframe.
        assert_eq!(switch.admit(l, false, video(1000), at(0)), FrameVerdict::Skip);
        assert_eq!(switch.admit(l, true, video(4600), at(40)), FrameVerdict::Write(video(4600)));
        assert_eq!(switch.admit(h, false, video(90_000), at(40)), FrameVerdict::Skip);
        switch.target = h;
        // Delta frames of the target do not switch; the current layer keeps flowing.
        assert_eq!(switch.admit(h, false, video(93_600), at(80)), FrameVerdict::Skip);
        assert_eq!(switch.admit(l, false, video(8200), at(80)), FrameVerdict::Write(video(8200)));
        // The target's keyframe switches, at a time just after the last one written
        // (40 ms later: 3600 ticks of 90 kHz), whatever that layer's own clock says.
        assert_eq!(
            switch.admit(h, true, video(97_200), at(120)),
            FrameVerdict::Write(video(11_800))
        );
        assert_eq!(switch.current(), h);
        assert_eq!(switch.admit(l, false, video(11_800), at(120)), FrameVerdict::Skip);
        assert_eq!(
            switch.admit(h, false, video(100_800), at(160)),
            FrameVerdict::Write(video(15_400))
        );
    }

    #[test]
    fn without_simulcast_time_passes_through() {
        let mut switch = LayerSwitch::default();
        let now = Instant::now();
        assert_eq!(switch.admit(None, false, video(7), now), FrameVerdict::Write(video(7)));
        assert_eq!(switch.admit(None, true, video(9), now), FrameVerdict::Write(video(9)));
    }

    #[test]
    fn the_meter_turns_bytes_into_bitrates() {
        let (l, h) = (Rid::from("l"), Rid::from("h"));
        let layers = Layers::new(&[l, h]);
        let mut meter = LayerMeter::new(vec![l, h]);
        let start = meter.since;
        meter.record(l, 10_000);
        meter.record(h, 100_000);
        meter.publish_if_due(start + Duration::from_millis(500), &layers);
        assert!(layers.ranked().is_empty(), "not due yet");
        meter.publish_if_due(start + Duration::from_secs(2), &layers);
        assert_eq!(layers.ranked(), vec![(l, 40_000), (h, 400_000)]);
    }
}
