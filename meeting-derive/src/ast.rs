//! A typed view of the input: the struct, its tag field and its attributes.

use crate::attr::{self, TypeAttrs};
use syn::spanned::Spanned;
use syn::{
    Data, DeriveInput, Error, Field, Fields, GenericArgument, Ident, LitStr, PathArguments, Result,
    Type,
};

/// The name of the marker type the first field must have.
const TAG_TYPE: &str = "ODataTag";
/// The JSON member name the tag field must be renamed to.
const TAG_MEMBER: &str = "@odata.type";

pub struct Input<'a> {
    pub ident: &'a Ident,
    pub generics: &'a syn::Generics,
    pub attrs: TypeAttrs,
}

impl<'a> Input<'a> {
    pub fn from_syn(input: &'a DeriveInput) -> Result<Self> {
        let attrs = attr::parse_type_attrs(&input.attrs);
        let fields = check_shape(input);
        let tag = fields.and_then(|fields| check_tag_field(&input.ident, fields));
        match (attrs, tag) {
            (Ok(attrs), Ok(())) => Ok(Input {
                ident: &input.ident,
                generics: &input.generics,
                attrs,
            }),
            (Err(mut a), Err(b)) => {
                a.combine(b);
                Err(a)
            }
            (Err(e), _) | (_, Err(e)) => Err(e),
        }
    }

    /// The Graph type name: the attribute's, else `microsoft.graph.<lowerCamelName>`.
    pub fn type_name(&self) -> String {
        match &self.attrs.name {
            Some(name) => name.value(),
            None => {
                let name = self.ident.to_string();
                let mut chars = name.chars();
                let lower_camel: String = match chars.next() {
                    Some(first) => first.to_lowercase().chain(chars).collect(),
                    None => String::new(),
                };
                format!("microsoft.graph.{lower_camel}")
            }
        }
    }
}

fn check_shape(input: &DeriveInput) -> Result<&syn::FieldsNamed> {
    match &input.data {
        Data::Struct(data) => match &data.fields {
            Fields::Named(fields) => Ok(fields),
            Fields::Unnamed(_) | Fields::Unit => Err(Error::new_spanned(
                &input.ident,
                "ODataType needs a struct with named fields: an OData object is a JSON object",
            )),
        },
        Data::Enum(data) => Err(Error::new(
            data.enum_token.span(),
            "ODataType applies to structs; an OData enumeration is a JSON string and carries no @odata.type",
        )),
        Data::Union(data) => Err(Error::new(
            data.union_token.span(),
            "ODataType applies to structs, not unions",
        )),
    }
}

/// The first field must be `#[serde(rename = "@odata.type")] _: ODataTag<Self>`:
/// first so that serde writes the tag before every other member. The tag is
/// optional on input by itself; `default` on it would let serde accept a JSON
/// array in place of the object, so it is refused.
fn check_tag_field(ident: &Ident, fields: &syn::FieldsNamed) -> Result<()> {
    let hint = format!(
        "the first field must be the tag: `#[serde(rename = \"{TAG_MEMBER}\")] odata_type: {TAG_TYPE}<Self>`"
    );
    let Some(first) = fields.named.first() else {
        return Err(Error::new_spanned(ident, hint));
    };
    if !is_tag_type(&first.ty, ident) {
        return Err(match fields.named.iter().find(|f| is_tag_type(&f.ty, ident)) {
            Some(tag) => Error::new_spanned(
                &tag.ty,
                format!("the `{TAG_TYPE}` field must be the first field, so that @odata.type is the object's first member"),
            ),
            None => Error::new_spanned(&first.ty, hint),
        });
    }
    check_serde_attrs(first)
}

fn is_tag_type(ty: &Type, ident: &Ident) -> bool {
    let Type::Path(path) = ty else { return false };
    let Some(last) = path.path.segments.last() else {
        return false;
    };
    if last.ident != TAG_TYPE {
        return false;
    }
    let PathArguments::AngleBracketed(args) = &last.arguments else {
        return false;
    };
    match args.args.first() {
        Some(GenericArgument::Type(Type::Path(inner))) if args.args.len() == 1 => {
            inner.path.is_ident("Self")
                || inner
                    .path
                    .segments
                    .last()
                    .is_some_and(|last| last.ident == *ident)
        }
        _ => false,
    }
}

fn check_serde_attrs(field: &Field) -> Result<()> {
    let mut rename: Option<LitStr> = None;
    let mut default: Option<syn::Path> = None;
    let serde_attrs: Vec<&syn::Attribute> = field
        .attrs
        .iter()
        .filter(|a| a.path().is_ident("serde"))
        .collect();
    // Point at the serde attribute when there is one, else at the field.
    let here = |message: String| match serde_attrs.last() {
        Some(attr) => Error::new_spanned(attr, message),
        None => Error::new_spanned(&field.ty, message),
    };
    for attr in &serde_attrs {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("rename") {
                rename = Some(meta.value()?.parse()?);
            } else if meta.path.is_ident("default") {
                default = Some(meta.path.clone());
                if meta.input.peek(syn::Token![=]) {
                    meta.value()?.parse::<LitStr>()?;
                }
            } else if meta.input.peek(syn::Token![=]) {
                meta.value()?.parse::<syn::Expr>()?;
            } else if meta.input.peek(syn::token::Paren) {
                meta.parse_nested_meta(|_| Ok(()))?;
            }
            Ok(())
        })?;
    }
    match rename {
        Some(name) if name.value() == TAG_MEMBER => {}
        Some(name) => {
            return Err(Error::new_spanned(
                name,
                format!("the tag field must be renamed to \"{TAG_MEMBER}\""),
            ))
        }
        None => {
            return Err(here(format!(
                "the tag field needs `#[serde(rename = \"{TAG_MEMBER}\")]`"
            )))
        }
    }
    if let Some(default) = default {
        return Err(Error::new_spanned(
            default,
            "remove `default` from the tag field: the tag is optional by itself, and `default` would let a JSON array stand for the object",
        ));
    }
    Ok(())
}
