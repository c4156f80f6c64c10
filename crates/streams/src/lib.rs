//! dmsrs-streams
