//! Why a sign-in failed: said to the visitor on the callback page and
//! logged.

/// Why a sign-in failed: said to the visitor (and logged).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OidcError {
    /// The provider could not be reached or answered nonsense.
    #[error("the identity provider cannot be used now: {0}")]
    Provider(String),
    /// Too many sign-ins are in progress; try again in a few minutes.
    #[error("too many sign-ins are in progress; try again in a few minutes")]
    Busy,
    /// This address starts sign-ins faster than
    /// `--oidc-logins-per-minute-per-ip`; one is possible again after the
    /// duration.
    #[error(
        "too many sign-ins from this address (--oidc-logins-per-minute-per-ip); wait a little"
    )]
    TooFast(std::time::Duration),
    /// This address holds its share of the sign-ins in progress; one is
    /// possible again after the duration (when its oldest expires).
    #[error("too many sign-ins from this address are in progress; try again in a few minutes")]
    AddressBusy(std::time::Duration),
    /// The callback names no sign-in this browser started (a forged or
    /// replayed callback, another browser's link, or one that expired).
    #[error("this sign-in is unknown or has expired; start again")]
    UnknownState,
    /// The provider refused (the user cancelled, or the client is not
    /// allowed).
    #[error("the identity provider refused the sign-in: {0}")]
    Refused(String),
    /// The token endpoint did not give a token for the code.
    #[error("the sign-in code was not accepted: {0}")]
    Exchange(String),
    /// The ID token is not acceptable.
    #[error("the identity provider's ID token was refused: {0}")]
    IdToken(String),
}
