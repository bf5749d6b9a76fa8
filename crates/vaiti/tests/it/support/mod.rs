//! Helpers the test modules share: running the real `vaiti` binary (`cli`) and the dump tests'
//! canary scanner (`canary`).

pub(crate) mod canary;
pub(crate) mod cli;
