//! dmsrs-testkit
