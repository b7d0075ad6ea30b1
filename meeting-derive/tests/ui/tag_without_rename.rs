use meeting_core::{ODataTag, ODataType};
use serde::Serialize;

#[derive(ODataType, Serialize)]
struct ChatInfo {
    #[serde(alias = "type")]
    odata_type: ODataTag<Self>,
}

fn main() {}
