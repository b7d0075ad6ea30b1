//! Errors as a log shows them: a logger prints an error's `Display`, then walks
//! [`source`](std::error::Error::source) for the causes, so each layer's
//! message must describe that layer only.

use std::error::Error;

/// Every layer's message, outermost first, joined by `": "`: the text a
/// logger that walks the sources writes (the library's own walk).
pub use meeting_core::error_chain as chain;

/// Asserts that no layer's message repeats its source's, which the log would
/// then show twice.
pub fn assert_each_layer_says_only_its_own(error: &dyn Error) {
    let mut layer = error;
    while let Some(source) = layer.source() {
        let (own, cause) = (layer.to_string(), source.to_string());
        assert!(
            cause.is_empty() || !own.contains(&cause),
            "{own:?} repeats its source {cause:?} (whole chain: {})",
            chain(error)
        );
        layer = source;
    }
}
