//! Parsing of the container attribute `#[odata(...)]`.

use syn::{Attribute, Error, LitStr, Result};

/// What `#[odata(...)]` says about a type.
#[derive(Default)]
pub struct TypeAttrs {
    /// `name = "microsoft.graph.x"`: the Graph type name, without the leading `#`.
    pub name: Option<LitStr>,
}

pub fn parse_type_attrs(attrs: &[Attribute]) -> Result<TypeAttrs> {
    let mut parsed = TypeAttrs::default();
    let mut errors: Option<Error> = None;
    let mut push = |error: Error| match errors.as_mut() {
        Some(existing) => existing.combine(error),
        None => errors = Some(error),
    };

    for attr in attrs.iter().filter(|attr| attr.path().is_ident("odata")) {
        let result = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("name") {
                let value: LitStr = meta.value()?.parse()?;
                if parsed.name.is_some() {
                    return Err(meta.error("duplicate `odata(name)` attribute"));
                }
                validate_name(&value)?;
                parsed.name = Some(value);
                Ok(())
            } else {
                Err(meta.error("unknown `odata` attribute; the only one is `name = \"...\"`"))
            }
        });
        if let Err(error) = result {
            push(error);
        }
    }

    match errors {
        Some(error) => Err(error),
        None => Ok(parsed),
    }
}

fn validate_name(name: &LitStr) -> Result<()> {
    let value = name.value();
    let valid = !value.is_empty()
        && !value.starts_with('#')
        && value.split('.').count() >= 2
        && value.split('.').all(|part| {
            !part.is_empty() && part.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        });
    if valid {
        Ok(())
    } else {
        Err(Error::new_spanned(
            name,
            "an OData type name is a dotted, namespace-qualified name without `#`, such as \"microsoft.graph.onlineMeeting\"",
        ))
    }
}
