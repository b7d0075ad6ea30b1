//! `#[derive(ODataType)]`: gives a Microsoft Graph model type its `@odata.type` annotation.
//!
//! Use it through `meeting_core`, which re-exports it together with the
//! `ODataTag` marker the derive relies on; see `meeting_core::odata` for the
//! full story and an example.

mod ast;
mod attr;
mod expand;

use proc_macro::TokenStream;
use syn::{parse_macro_input, DeriveInput};

/// Implements `meeting_core::odata::ODataType` for a struct whose first field is
/// `#[serde(rename = "@odata.type")] ODataTag<Self>`.
///
/// The Graph type name defaults to `microsoft.graph.` followed by the type's name
/// in lower camel case; `#[odata(name = "microsoft.graph.other")]` overrides it.
#[proc_macro_derive(ODataType, attributes(odata))]
pub fn derive_odata_type(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    expand::derive(&input).into()
}
