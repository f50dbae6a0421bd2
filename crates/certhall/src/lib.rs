//! certhall
