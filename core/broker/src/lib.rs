//! The Strom broker. (Being built: see the modules as they land.)

pub mod config;
