use meeting_core::ODataType;

#[derive(ODataType)]
struct ChatInfo {
    thread_id: String,
}

fn main() {}
