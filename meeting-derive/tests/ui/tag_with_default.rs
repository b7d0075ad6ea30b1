use meeting_core::{ODataTag, ODataType};
use serde::Serialize;

#[derive(ODataType, Serialize)]
struct ChatInfo {
    #[serde(rename = "@odata.type", default)]
    odata_type: ODataTag<Self>,
}

fn main() {}
