//! The SMTP transport of `plaza_core::mail::Mailer`, on lettre.
//!
//! Each mail opens its own connection (mail is rare: invitations, resets, digests), so a
//! mail server that restarts costs nothing to reconnect to. `security` picks STARTTLS
//! (port 587, the default), implicit TLS (465) or none (a relay on localhost, tests).
#![forbid(unsafe_code)]

use std::time::Duration;

use async_trait::async_trait;
use lettre::message::{Mailbox, MultiPart, header};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use plaza_core::mail::{Mail, Mailer};

/// How the connection to the mail server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// Plain connection upgraded with STARTTLS, which must succeed.
    StartTls,
    /// TLS from the first byte.
    Tls,
    /// No encryption: only for a relay on the same machine or a test server.
    None,
}

impl Security {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "starttls" => Some(Security::StartTls),
            "tls" => Some(Security::Tls),
            "none" => Some(Security::None),
            _ => None,
        }
    }
}

/// Where and as whom to send.
#[derive(Debug, Clone)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub security: Security,
    /// Sign in with these when set.
    pub username: Option<String>,
    pub password: Option<String>,
    /// The `From` address, e.g. `Plaza <plaza@example.com>`.
    pub from: String,
    pub timeout: Duration,
}

/// Sends mail over SMTP.
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl SmtpMailer {
    /// Checks the settings (the `From` address, TLS parameters); connects only when
    /// sending.
    pub fn new(config: &SmtpConfig) -> Result<Self, String> {
        let from: Mailbox =
            config.from.parse().map_err(|e| format!("email.from {:?}: {e}", config.from))?;
        let builder = match config.security {
            Security::StartTls => {
                AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&config.host)
            }
            Security::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&config.host),
            Security::None => {
                Ok(AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&config.host))
            }
        }
        .map_err(|e| format!("email.host {:?}: {e}", config.host))?;
        let mut builder = builder.port(config.port).timeout(Some(config.timeout));
        if let Some(username) = &config.username {
            builder = builder.credentials(Credentials::new(
                username.clone(),
                config.password.clone().unwrap_or_default(),
            ));
        }
        Ok(SmtpMailer { transport: builder.build(), from })
    }
}

#[async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, mail: &Mail) -> Result<(), String> {
        let to: Mailbox = mail.to.parse().map_err(|e| format!("recipient {:?}: {e}", mail.to))?;
        let mut builder = Message::builder().from(self.from.clone()).to(to).subject(&mail.subject);
        if let Some(link) = &mail.unsubscribe {
            builder =
                builder.header(ListUnsubscribe(format!("<{link}>"))).header(ListUnsubscribePost);
        }
        let message = builder
            .multipart(MultiPart::alternative_plain_html(mail.text.clone(), mail.html.clone()))
            .map_err(|e| format!("building the mail: {e}"))?;
        self.transport.send(message).await.map(|_| ()).map_err(|e| e.to_string())
    }
}

/// `List-Unsubscribe: <url>` (RFC 2369).
#[derive(Clone)]
struct ListUnsubscribe(String);

impl header::Header for ListUnsubscribe {
    fn name() -> header::HeaderName {
        header::HeaderName::new_from_ascii_str("List-Unsubscribe")
    }

    fn parse(text: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(ListUnsubscribe(text.to_owned()))
    }

    fn display(&self) -> header::HeaderValue {
        header::HeaderValue::new(Self::name(), self.0.clone())
    }
}

/// `List-Unsubscribe-Post: List-Unsubscribe=One-Click` (RFC 8058).
#[derive(Clone)]
struct ListUnsubscribePost;

impl header::Header for ListUnsubscribePost {
    fn name() -> header::HeaderName {
        header::HeaderName::new_from_ascii_str("List-Unsubscribe-Post")
    }

    fn parse(_: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(ListUnsubscribePost)
    }

    fn display(&self) -> header::HeaderValue {
        header::HeaderValue::new(Self::name(), "List-Unsubscribe=One-Click".to_owned())
    }
}
