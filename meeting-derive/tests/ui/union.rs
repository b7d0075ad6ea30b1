use meeting_core::ODataType;

#[derive(ODataType)]
union Bits {
    a: u32,
    b: f32,
}

fn main() {}
