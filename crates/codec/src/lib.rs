//! dmsrs-codec
