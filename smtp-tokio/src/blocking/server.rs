//! Placeholder: filled by the driver work of issue 14.
