use meeting_core::{ODataTag, ODataType};
use serde::Serialize;

#[derive(ODataType, Serialize)]
struct ChatInfo {
    thread_id: String,
    #[serde(rename = "@odata.type")]
    odata_type: ODataTag<Self>,
}

fn main() {}
