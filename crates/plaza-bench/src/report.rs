//! What a scenario run reports: a summary for people and JSON for the comparison tools.

use serde_json::Value;

pub struct Report {
    pub summary: String,
    pub json: Value,
}
