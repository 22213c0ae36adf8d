//! Active-speaker detection from the audio-level RTP header extension (RFC 6464).
//!
//! Publishers' browsers put the level of every audio packet in the header (0 dBov is the
//! loudest, -127 silence). The room feeds each level here and evaluates once per
//! [`SPEAKER_EVALUATION_INTERVAL`]: the loudest participant of that window, above
//! [`SPEECH_THRESHOLD_DBOV`], becomes the active speaker when they beat the current one by
//! [`SWITCH_MARGIN_DB`] or the current one fell silent. One evaluation per interval bounds
//! the events to a few per second; the margin keeps two people talking at once from
//! flapping the highlight. Silence keeps the last speaker (as video tools do): the
//! highlight only moves to someone who speaks.

use std::collections::HashMap;
use std::time::Duration;

/// How often the active speaker is re-evaluated (at most this many events per second: 2.5).
pub const SPEAKER_EVALUATION_INTERVAL: Duration = Duration::from_millis(400);
/// Windows whose mean level is at or below this are silence (background, comfort noise).
pub const SPEECH_THRESHOLD_DBOV: f32 = -50.0;
/// How much louder (mean dB over a window) a challenger must be to take over.
pub const SWITCH_MARGIN_DB: f32 = 6.0;

#[derive(Default)]
struct Window {
    sum_dbov: f32,
    samples: u32,
}

impl Window {
    fn mean(&self) -> Option<f32> {
        (self.samples > 0).then(|| self.sum_dbov / self.samples as f32)
    }
}

/// The detector of one room. Pure logic: the room task calls it and owns the timer.
#[derive(Default)]
pub struct SpeakerDetector {
    window: HashMap<String, Window>,
    current: Option<String>,
}

impl SpeakerDetector {
    /// Records one packet's level (`audio_level` as str0m reports it: 0 loudest, -127
    /// silence). A packet the sender marked as without voice counts as silence.
    pub fn record(&mut self, participant: &str, level_dbov: i8, voice_activity: Option<bool>) {
        let level = if voice_activity == Some(false) { -127.0 } else { f32::from(level_dbov) };
        let window = match self.window.get_mut(participant) {
            Some(window) => window,
            None => self.window.entry(participant.to_owned()).or_default(),
        };
        window.sum_dbov += level.clamp(-127.0, 0.0);
        window.samples += 1;
    }

    /// Someone left: they can no longer be the speaker.
    pub fn forget(&mut self, participant: &str) {
        self.window.remove(participant);
        if self.current.as_deref() == Some(participant) {
            self.current = None;
        }
    }

    /// Closes the current window; `Some(participant)` when the active speaker changed.
    pub fn evaluate(&mut self) -> Option<String> {
        let means: Vec<(String, f32)> = self
            .window
            .drain()
            .filter_map(|(who, window)| window.mean().map(|mean| (who, mean)))
            .filter(|(_, mean)| *mean > SPEECH_THRESHOLD_DBOV)
            .collect();
        let (loudest, loudest_mean) =
            means.iter().max_by(|a, b| a.1.total_cmp(&b.1).then_with(|| b.0.cmp(&a.0))).cloned()?;
        if self.current.as_deref() == Some(loudest.as_str()) {
            return None;
        }
        let current_mean = self
            .current
            .as_ref()
            .and_then(|current| means.iter().find(|(who, _)| who == current))
            .map(|(_, mean)| *mean);
        let takes_over = match current_mean {
            Some(current_mean) => loudest_mean >= current_mean + SWITCH_MARGIN_DB,
            None => true,
        };
        if !takes_over {
            return None;
        }
        self.current = Some(loudest.clone());
        Some(loudest)
    }

    /// The active speaker now.
    pub fn current(&self) -> Option<&str> {
        self.current.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn speak(detector: &mut SpeakerDetector, who: &str, level: i8, packets: usize) {
        for _ in 0..packets {
            detector.record(who, level, Some(true));
        }
    }

    #[test]
    fn the_loudest_voice_becomes_the_speaker_once() {
        let mut detector = SpeakerDetector::default();
        speak(&mut detector, "ann", -20, 20);
        speak(&mut detector, "bob", -40, 20);
        assert_eq!(detector.evaluate().as_deref(), Some("ann"));
        speak(&mut detector, "ann", -20, 20);
        assert_eq!(detector.evaluate(), None, "no repeated event for the same speaker");
        assert_eq!(detector.current(), Some("ann"));
    }

    #[test]
    fn silence_and_background_noise_elect_no_one() {
        let mut detector = SpeakerDetector::default();
        speak(&mut detector, "ann", -90, 20);
        detector.record("bob", -10, Some(false));
        assert_eq!(detector.evaluate(), None);
        assert_eq!(detector.current(), None);
    }

    #[test]
    fn a_challenger_needs_the_margin_unless_the_speaker_fell_silent() {
        let mut detector = SpeakerDetector::default();
        speak(&mut detector, "ann", -30, 20);
        assert_eq!(detector.evaluate().as_deref(), Some("ann"));
        speak(&mut detector, "ann", -30, 20);
        speak(&mut detector, "bob", -27, 20);
        assert_eq!(detector.evaluate(), None, "3 dB louder is not enough");
        speak(&mut detector, "ann", -30, 20);
        speak(&mut detector, "bob", -20, 20);
        assert_eq!(detector.evaluate().as_deref(), Some("bob"));
        speak(&mut detector, "ann", -35, 20);
        assert_eq!(detector.evaluate().as_deref(), Some("ann"), "bob is silent now");
    }

    #[test]
    fn a_speaker_who_leaves_is_forgotten() {
        let mut detector = SpeakerDetector::default();
        speak(&mut detector, "ann", -20, 5);
        assert_eq!(detector.evaluate().as_deref(), Some("ann"));
        detector.forget("ann");
        assert_eq!(detector.current(), None);
        speak(&mut detector, "bob", -45, 5);
        assert_eq!(detector.evaluate().as_deref(), Some("bob"));
    }
}
