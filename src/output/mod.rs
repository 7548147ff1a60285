//! What the operator reads: text renderings of plans, live changes, verify reports and run
//! summaries. JSON is the serde form of the same data; `json` only stamps its `schema_version`.

pub mod json;
pub mod plan;
pub mod status;
pub mod summary;
pub mod verify;
pub mod wrap;
