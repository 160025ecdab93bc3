//! [`Errors`]: the derive's mistakes, collected along the way and reported together.

use proc_macro2::Span;
use quote::ToTokens;

/// Errors collected along the way, reported together.
#[derive(Debug, Default)]
pub(crate) struct Errors {
    all: Option<syn::Error>,
    count: usize,
}

impl Errors {
    pub(crate) fn push(&mut self, error: syn::Error) {
        self.count += 1;
        match &mut self.all {
            Some(all) => all.combine(error),
            None => self.all = Some(error),
        }
    }

    /// How many errors were pushed so far (to tell whether a step found any).
    pub(crate) fn count(&self) -> usize {
        self.count
    }

    pub(crate) fn error(&mut self, span: Span, message: impl std::fmt::Display) {
        self.push(syn::Error::new(span, message));
    }

    /// An error over all of `tokens` (a whole type such as `Option<u16>`, not its first token).
    pub(crate) fn push_spanned(&mut self, tokens: impl ToTokens, message: impl std::fmt::Display) {
        self.push(syn::Error::new_spanned(tokens, message));
    }

    /// Every error, or `Ok` when there was none.
    pub(crate) fn finish(self) -> syn::Result<()> {
        self.all.map_or(Ok(()), Err)
    }

    #[cfg(test)]
    pub(crate) fn messages(&self) -> Vec<String> {
        self.all
            .iter()
            .flat_map(|e| e.clone().into_iter())
            .map(|e| e.to_string())
            .collect()
    }
}
