use meeting_core::ODataType;

#[derive(ODataType)]
enum Role {
    Attendee,
}

fn main() {}
