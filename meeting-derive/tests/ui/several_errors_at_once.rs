use meeting_core::ODataType;

#[derive(ODataType)]
#[odata(label = "x")]
struct ChatInfo {
    thread_id: String,
}

fn main() {}
