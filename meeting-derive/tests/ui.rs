//! Misuses of `#[derive(ODataType)]` are compile errors that point at the offending tokens.

#[test]
fn misuse_is_a_compile_error() {
    trybuild::TestCases::new().compile_fail("tests/ui/*.rs");
}
