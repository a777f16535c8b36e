//! SASL for SMTP AUTH (RFC 4954): mechanism names, strict base64, and the
//! payloads of the mechanisms the machines handle themselves: PLAIN
//! (RFC 4616), LOGIN (draft-murchison-sasl-login), XOAUTH2 and OAUTHBEARER
//! (RFC 7628). Credentials are wrapped in [`Secret`] so `Debug` never
//! prints them.

use alloc::string::String;
use alloc::vec::Vec;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// A value whose `Debug` output is redacted (credentials, tokens, SASL
/// payloads). Use [`Secret::expose`] to read it.
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct Secret<T>(T);

impl<T> Secret<T> {
    /// Wraps a value.
    pub const fn new(value: T) -> Self {
        Secret(value)
    }

    /// The wrapped value.
    pub fn expose(&self) -> &T {
        &self.0
    }

    /// Unwraps the value.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> core::fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl<T> From<T> for Secret<T> {
    fn from(value: T) -> Self {
        Secret(value)
    }
}

/// A SASL mechanism (RFC 4422 3.1; IANA SASL mechanism registry).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Mechanism {
    /// PLAIN (RFC 4616): client-first, one step; a plaintext password.
    Plain,
    /// LOGIN (draft-murchison-sasl-login): server-first; a plaintext password.
    Login,
    /// XOAUTH2 (Google/Microsoft): client-first; a bearer token.
    XOAuth2,
    /// OAUTHBEARER (RFC 7628): client-first; a bearer token.
    OAuthBearer,
    /// CRAM-MD5 (RFC 2195): server-first challenge-response.
    CramMd5,
    /// SCRAM-SHA-1 (RFC 5802): client-first, several steps.
    ScramSha1,
    /// SCRAM-SHA-256 (RFC 7677): client-first, several steps.
    ScramSha256,
    /// EXTERNAL (RFC 4422 Appendix A): identity from the TLS layer.
    External,
}

impl Mechanism {
    /// Every mechanism this crate names.
    pub const ALL: [Mechanism; 8] = [
        Mechanism::Plain,
        Mechanism::Login,
        Mechanism::XOAuth2,
        Mechanism::OAuthBearer,
        Mechanism::CramMd5,
        Mechanism::ScramSha1,
        Mechanism::ScramSha256,
        Mechanism::External,
    ];

    /// The registered name (RFC 4422 3.1: upper case).
    pub const fn name(self) -> &'static str {
        match self {
            Mechanism::Plain => "PLAIN",
            Mechanism::Login => "LOGIN",
            Mechanism::XOAuth2 => "XOAUTH2",
            Mechanism::OAuthBearer => "OAUTHBEARER",
            Mechanism::CramMd5 => "CRAM-MD5",
            Mechanism::ScramSha1 => "SCRAM-SHA-1",
            Mechanism::ScramSha256 => "SCRAM-SHA-256",
            Mechanism::External => "EXTERNAL",
        }
    }

    /// The mechanism named `name`, compared case-insensitively (RFC 4954 4).
    pub fn from_name(name: &[u8]) -> Option<Mechanism> {
        Mechanism::ALL
            .into_iter()
            .find(|m| m.name().as_bytes().eq_ignore_ascii_case(name))
    }

    /// Whether the credentials travel in the clear inside the exchange
    /// (a password or a bearer token): such mechanisms are offered and used
    /// only under TLS unless a policy explicitly allows otherwise
    /// (RFC 4954 4, RFC 4616 6, RFC 7628 5).
    pub const fn is_plaintext(self) -> bool {
        matches!(
            self,
            Mechanism::Plain | Mechanism::Login | Mechanism::XOAuth2 | Mechanism::OAuthBearer
        )
    }

    /// Whether the client speaks first, so that an initial response is
    /// allowed with the AUTH command (RFC 4954 4: for a server-first
    /// mechanism an initial response is an error, 501).
    pub const fn client_first(self) -> bool {
        !matches!(self, Mechanism::Login | Mechanism::CramMd5)
    }

    /// Whether a successful exchange may complete with the initial
    /// response alone, so that AUTH with an initial response does not end
    /// a pipelined group (RFC 4954 4, RFC 2920 3.1).
    pub const fn one_step(self) -> bool {
        matches!(
            self,
            Mechanism::Plain | Mechanism::XOAuth2 | Mechanism::OAuthBearer | Mechanism::External
        )
    }
}

/// A base64 payload could not be decoded (RFC 4954 4: 501 5.5.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Base64Error;

impl core::fmt::Display for Base64Error {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("invalid base64")
    }
}

impl core::error::Error for Base64Error {}

/// Decodes a SASL response or initial response (RFC 4954 4): strict
/// RFC 4648 base64 with padding; `=` alone is the empty response.
pub fn decode_base64(input: &[u8]) -> Result<Vec<u8>, Base64Error> {
    if input == b"=" {
        return Ok(Vec::new());
    }
    STANDARD.decode(input).map_err(|_| Base64Error)
}

/// Encodes a challenge or response in base64 (RFC 4954 4); an empty payload
/// gives the empty string (a server sends `334 ` with nothing after it).
pub fn encode_base64(input: &[u8]) -> String {
    STANDARD.encode(input)
}

/// Credentials carried by one of the mechanisms the machines decode
/// themselves. The application checks them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credentials {
    /// PLAIN (RFC 4616 2) or LOGIN.
    Password {
        /// The authorization identity (empty: same as `username`). LOGIN
        /// has none.
        authzid: String,
        /// The authentication identity.
        username: String,
        /// The password.
        password: Secret<String>,
    },
    /// XOAUTH2 or OAUTHBEARER (RFC 7628 3.1).
    Bearer {
        /// The user (XOAUTH2 `user=`, or the OAUTHBEARER gs2 `a=` identity).
        user: String,
        /// The bearer token.
        token: Secret<String>,
    },
}

/// A SASL payload did not match its mechanism's grammar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PayloadError;

impl core::fmt::Display for PayloadError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("malformed SASL payload")
    }
}

impl core::error::Error for PayloadError {}

fn utf8(b: &[u8]) -> Result<String, PayloadError> {
    core::str::from_utf8(b)
        .map(String::from)
        .map_err(|_| PayloadError)
}

/// Decodes a PLAIN message (RFC 4616 2:
/// `message = [authzid] UTF8NUL authcid UTF8NUL passwd`): authcid and
/// passwd non-empty, every part valid UTF-8 without NUL.
pub fn parse_plain(message: &[u8]) -> Result<Credentials, PayloadError> {
    let mut parts = message.split(|&b| b == 0);
    let (Some(authzid), Some(authcid), Some(passwd), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(PayloadError);
    };
    if authcid.is_empty() || passwd.is_empty() || authcid.len() > 255 || passwd.len() > 255 {
        return Err(PayloadError);
    }
    Ok(Credentials::Password {
        authzid: utf8(authzid)?,
        username: utf8(authcid)?,
        password: Secret::new(utf8(passwd)?),
    })
}

/// Encodes a PLAIN message (RFC 4616 2).
pub fn plain_message(authzid: &str, username: &str, password: &str) -> Secret<Vec<u8>> {
    let mut m = Vec::with_capacity(authzid.len() + username.len() + password.len() + 2);
    m.extend_from_slice(authzid.as_bytes());
    m.push(0);
    m.extend_from_slice(username.as_bytes());
    m.push(0);
    m.extend_from_slice(password.as_bytes());
    Secret::new(m)
}

/// Decodes an XOAUTH2 initial response:
/// `user=` user `^A` `auth=Bearer ` token `^A^A`.
pub fn parse_xoauth2(message: &[u8]) -> Result<Credentials, PayloadError> {
    let rest = message.strip_suffix(b"\x01\x01").ok_or(PayloadError)?;
    let mut user = None;
    let mut token = None;
    for kv in rest.split(|&b| b == 1) {
        if let Some(v) = kv.strip_prefix(b"user=") {
            user = Some(utf8(v)?);
        } else if let Some(v) = kv.strip_prefix(b"auth=") {
            let t = strip_bearer(v)?;
            token = Some(utf8(t)?);
        }
    }
    match (user, token) {
        (Some(user), Some(token)) if !token.is_empty() => Ok(Credentials::Bearer {
            user,
            token: Secret::new(token),
        }),
        _ => Err(PayloadError),
    }
}

fn strip_bearer(v: &[u8]) -> Result<&[u8], PayloadError> {
    if v.len() > 7 && v[..7].eq_ignore_ascii_case(b"Bearer ") {
        Ok(&v[7..])
    } else {
        Err(PayloadError)
    }
}

/// Encodes an XOAUTH2 initial response.
pub fn xoauth2_message(user: &str, token: &str) -> Secret<Vec<u8>> {
    let mut m = Vec::new();
    m.extend_from_slice(b"user=");
    m.extend_from_slice(user.as_bytes());
    m.extend_from_slice(b"\x01auth=Bearer ");
    m.extend_from_slice(token.as_bytes());
    m.extend_from_slice(b"\x01\x01");
    Secret::new(m)
}

/// Decodes an OAUTHBEARER client response (RFC 7628 3.1):
/// `gs2-header kvsep *(kvpair) kvsep`, gs2-header `n,a=user,` (or `n,,`),
/// kvsep `^A`, with an `auth=Bearer token` pair.
pub fn parse_oauthbearer(message: &[u8]) -> Result<Credentials, PayloadError> {
    let mut fields = message.splitn(3, |&b| b == b',');
    let (Some(cb), Some(authz), Some(rest)) = (fields.next(), fields.next(), fields.next()) else {
        return Err(PayloadError);
    };
    if !matches!(cb, b"n" | b"y") {
        return Err(PayloadError);
    }
    let user = match authz {
        b"" => String::new(),
        a => utf8(a.strip_prefix(b"a=").ok_or(PayloadError)?)?,
    };
    let rest = rest.strip_prefix(b"\x01").ok_or(PayloadError)?;
    let rest = rest.strip_suffix(b"\x01\x01").ok_or(PayloadError)?;
    let mut token = None;
    for kv in rest.split(|&b| b == 1) {
        if let Some(v) = kv.strip_prefix(b"auth=") {
            token = Some(utf8(strip_bearer(v)?)?);
        }
    }
    match token {
        Some(token) if !token.is_empty() => Ok(Credentials::Bearer {
            user,
            token: Secret::new(token),
        }),
        _ => Err(PayloadError),
    }
}

/// Encodes an OAUTHBEARER client response (RFC 7628 3.1) for `user` with
/// `token`, without host and port pairs.
pub fn oauthbearer_message(user: &str, token: &str) -> Secret<Vec<u8>> {
    let mut m = Vec::new();
    m.extend_from_slice(b"n,a=");
    m.extend_from_slice(user.as_bytes());
    m.extend_from_slice(b",\x01auth=Bearer ");
    m.extend_from_slice(token.as_bytes());
    m.extend_from_slice(b"\x01\x01");
    Secret::new(m)
}

/// The LOGIN mechanism's prompts, sent base64-encoded in 334 replies.
pub const LOGIN_USERNAME_PROMPT: &[u8] = b"Username:";
/// The LOGIN mechanism's password prompt.
pub const LOGIN_PASSWORD_PROMPT: &[u8] = b"Password:";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_roundtrip_and_rejects() {
        let m = plain_message("", "alice", "secret");
        let c = parse_plain(m.expose()).unwrap();
        assert_eq!(
            c,
            Credentials::Password {
                authzid: String::new(),
                username: "alice".into(),
                password: Secret::new("secret".into())
            }
        );
        assert!(parse_plain(b"\0alice").is_err());
        assert!(parse_plain(b"\0\0secret").is_err());
        assert!(parse_plain(b"a\0b\0c\0d").is_err());
        assert!(parse_plain(b"\0alice\0\xff").is_err());
        assert_eq!(
            decode_base64(b"AGFsaWNlAHNlY3JldA==").unwrap(),
            b"\0alice\0secret"
        );
    }

    #[test]
    fn base64_is_strict() {
        assert_eq!(decode_base64(b"=").unwrap(), b"");
        assert!(decode_base64(b"AGFsaWNlAHNlY3JldA").is_err());
        assert!(decode_base64(b"AG*s").is_err());
        assert!(decode_base64(b"AGFs aWNl").is_err());
    }

    #[test]
    fn bearer_mechanisms() {
        let m = xoauth2_message("bob@example.org", "tok123");
        assert_eq!(
            parse_xoauth2(m.expose()).unwrap(),
            Credentials::Bearer {
                user: "bob@example.org".into(),
                token: Secret::new("tok123".into())
            }
        );
        let m = oauthbearer_message("bob@example.org", "tok123");
        assert_eq!(
            parse_oauthbearer(m.expose()).unwrap(),
            Credentials::Bearer {
                user: "bob@example.org".into(),
                token: Secret::new("tok123".into())
            }
        );
        assert!(parse_oauthbearer(b"n,,\x01auth=Bearer\x01\x01").is_err());
        assert!(parse_xoauth2(b"user=a\x01auth=Bearer t\x01").is_err());
    }

    #[test]
    fn secrets_are_redacted() {
        let c = parse_plain(b"\0alice\0hunter2").unwrap();
        let s = alloc::format!("{c:?}");
        assert!(!s.contains("hunter2"), "{s}");
    }

    #[test]
    fn mechanism_names() {
        assert_eq!(Mechanism::from_name(b"plain"), Some(Mechanism::Plain));
        assert_eq!(Mechanism::from_name(b"CRAM-MD5"), Some(Mechanism::CramMd5));
        assert_eq!(Mechanism::from_name(b"GSSAPI"), None);
        assert!(!Mechanism::Login.client_first());
        assert!(Mechanism::Plain.one_step());
    }
}
