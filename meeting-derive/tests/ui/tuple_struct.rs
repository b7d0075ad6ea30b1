use meeting_core::{ODataTag, ODataType};

#[derive(ODataType)]
struct Pair(ODataTag<Self>, String);

fn main() {}
