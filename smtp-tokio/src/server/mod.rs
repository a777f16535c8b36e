//! The async server driver (placeholder, filled by the driver work of issue 14).
