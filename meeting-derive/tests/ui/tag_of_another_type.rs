use meeting_core::{ODataTag, ODataType};
use serde::Serialize;

#[derive(ODataType, Serialize)]
struct Identity {
    #[serde(rename = "@odata.type")]
    odata_type: ODataTag<Self>,
}

#[derive(ODataType, Serialize)]
struct ChatInfo {
    #[serde(rename = "@odata.type")]
    odata_type: ODataTag<Identity>,
}

fn main() {}
