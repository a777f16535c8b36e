//! EHLO replies and their service extensions (RFC 5321 4.1.1.1, 2.2.2,
//! and each extension's RFC).
