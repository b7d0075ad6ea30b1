//! Code generation.

use crate::ast::Input;
use proc_macro2::TokenStream;
use quote::quote;
use syn::DeriveInput;

pub fn derive(input: &DeriveInput) -> TokenStream {
    match Input::from_syn(input) {
        Ok(parsed) => impl_odata_type(&parsed),
        // Emit the error together with a placeholder impl, so that the user sees
        // this one message rather than a cascade of "ODataType is not implemented".
        Err(error) => {
            let fallback = fallback(input);
            let error = error.to_compile_error();
            quote! { #error #fallback }
        }
    }
}

fn impl_odata_type(input: &Input) -> TokenStream {
    let ident = input.ident;
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    let name = input.type_name();
    let tag = format!("#{name}");
    quote! {
        #[allow(non_upper_case_globals, unused_qualifications)]
        const _: () = {
            #[automatically_derived]
            impl #impl_generics ::meeting_core::odata::ODataType for #ident #ty_generics #where_clause {
                const TYPE_NAME: &'static str = #name;
                const TAG: &'static str = #tag;
            }
        };
    }
}

fn fallback(input: &DeriveInput) -> TokenStream {
    let ident = &input.ident;
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    quote! {
        const _: () = {
            #[automatically_derived]
            impl #impl_generics ::meeting_core::odata::ODataType for #ident #ty_generics #where_clause {
                const TYPE_NAME: &'static str = "";
                const TAG: &'static str = "";
            }
        };
    }
}
