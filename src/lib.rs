//! shop: one binary that hosts the domain modules compiled into it and
//! reaches the others over HTTP. `app` is the composition root.

pub mod app;
pub mod cli;
