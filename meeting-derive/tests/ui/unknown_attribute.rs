use meeting_core::{ODataTag, ODataType};
use serde::Serialize;

#[derive(ODataType, Serialize)]
#[odata(namespace = "microsoft.graph")]
struct ChatInfo {
    #[serde(rename = "@odata.type")]
    odata_type: ODataTag<Self>,
}

fn main() {}
