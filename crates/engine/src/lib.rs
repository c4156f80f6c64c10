//! dmsrs-engine
